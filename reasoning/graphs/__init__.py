"""Built-in graphs; importing this package registers them in `default_registry`."""

from reasoning.graphs.planner import make_planner_graph
from reasoning.graphs.researcher import make_researcher_graph
from reasoning.graphs.researcher_lite import make_researcher_lite_graph
from reasoning.graphs.validator import make_validator_graph
from reasoning.graphs.writer import make_writer_graph

__all__ = [
    "make_planner_graph",
    "make_researcher_graph",
    "make_researcher_lite_graph",
    "make_validator_graph",
    "make_writer_graph",
]
