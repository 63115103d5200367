"""Built-in graphs; importing this package registers them in `default_registry`."""

from reasoning.graphs.deep_researcher import make_deep_researcher_graph
from reasoning.graphs.extract_claims import make_extract_claims_graph
from reasoning.graphs.planner import make_planner_graph
from reasoning.graphs.researcher import make_researcher_graph
from reasoning.graphs.researcher_lite import make_researcher_lite_graph
from reasoning.graphs.summarize import make_summarize_graph
from reasoning.graphs.synthesize import make_synthesize_graph
from reasoning.graphs.validator import make_validator_graph
from reasoning.graphs.writer import make_writer_graph

__all__ = [
    "make_deep_researcher_graph",
    "make_extract_claims_graph",
    "make_planner_graph",
    "make_researcher_graph",
    "make_researcher_lite_graph",
    "make_summarize_graph",
    "make_synthesize_graph",
    "make_validator_graph",
    "make_writer_graph",
]
