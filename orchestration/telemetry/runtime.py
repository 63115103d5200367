"""One Temporal `Runtime` per worker process, exporting the SDK's and the project's metrics to Prometheus.

Telemetry never takes a job down: a port out of range or in use gives one warning and a
worker without a metrics endpoint, never a failed start.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from temporalio.runtime import MetricBuffer, MetricBufferDurationFormat, PrometheusConfig, Runtime, TelemetryConfig


def metrics_port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot serve metrics (out of range, in use, not an address here), or None."""
    if not 1 <= port <= 65535:
        return f"metrics port {port} is out of range (1-65535)"
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return f"metrics port {port} on {host} is in use; pick another --metrics-port"
        return f"cannot serve metrics on {host}:{port} ({exc.strerror or exc})"
    finally:
        probe.close()
    return None


def prometheus_runtime(port: int | None, host: str, *, warn: Callable[[str], None]) -> Runtime | None:
    """A Runtime serving ``http://host:port/metrics``; None (and one warning) when it cannot, or no port.

    Pass it to `Client.connect(runtime=...)`: the workers of that client export through it.
    """
    if port is None:
        return None
    problem = metrics_port_problem(host, port)
    if problem is None:
        try:
            # `_total` on counters and seconds for durations: what Prometheus and Grafana expect.
            config = PrometheusConfig(
                bind_address=f"{host}:{port}", counters_total_suffix=True, durations_as_seconds=True
            )
            return Runtime(telemetry=TelemetryConfig(metrics=config))
        except Exception as exc:  # the port was taken between the probe and the bind, or the SDK refused
            problem = f"cannot serve metrics on {host}:{port} ({str(exc).splitlines()[0][:200]})"
    warn(f"{problem}; the worker runs without a metrics endpoint")
    return None


def buffered_runtime(buffer_size: int = 100_000) -> tuple[Runtime, MetricBuffer]:
    """A Runtime that keeps metric updates in memory (notebooks): drain with `buffer.retrieve_updates()`."""
    buffer = MetricBuffer(buffer_size, duration_format=MetricBufferDurationFormat.SECONDS)
    return Runtime(telemetry=TelemetryConfig(metrics=buffer)), buffer
