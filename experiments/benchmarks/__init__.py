"""Benchmarks that print numbers (throughput, latency, retrieval quality); never timed tests."""
