"""The user edge: CLI, notebook helper, doctor and preflight.

It may import anything below it (the Temporal core, reasoning, retrieval); nothing below
imports it. Commands of other packages join the CLI through the `durable_research.cli`
entry-point group (the `experiment` command of the experiments package does).
"""
