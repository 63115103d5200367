"""Whether a registered graph fits a batch: a per-document step or a reduce step.

A per-document graph takes a `DocumentInput` and returns something that validates as a
`DocumentAnalysis`; a reduce graph takes a `SynthesisInput` and returns the same. The check
runs before a batch starts, so a misfit is one clear error, never 10,000 failed documents.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ValidationError

from reasoning.errors import ConfigError
from reasoning.registry import GraphRegistry, GraphSpec
from reasoning.types import DocumentAnalysis, DocumentInput, QuotedClaim, SynthesisInput

Step = Literal["document", "reduce"]

_SAMPLE_DOC = DocumentInput(source="sample.md", title="Sample", text="A sample document.", question="Why?")
_SAMPLE_ANALYSIS = DocumentAnalysis(
    source="sample.md", summary="A sample.", claims=[QuotedClaim(text="x", quote="x", source="sample.md")]
)
_SAMPLE_REDUCE = SynthesisInput(question="Why?", parts=[_SAMPLE_ANALYSIS, _SAMPLE_ANALYSIS])
_WANTS = {"document": (_SAMPLE_DOC, "DocumentInput"), "reduce": (_SAMPLE_REDUCE, "SynthesisInput")}


def check_batch_graph(registry: GraphRegistry, key: str, step: Step) -> GraphSpec:
    """The graph registered as `key`, if it fits `step`.

    Raises:
        GraphNotFoundError: nothing is registered as `key`.
        ConfigError: its input model does not accept the step's input, or its output model
            lacks a field a `DocumentAnalysis` needs.
    """
    spec = registry.get(key)
    sample, wanted = _WANTS[step]
    try:
        spec.input_model.model_validate(sample.model_dump(mode="json"))
    except ValidationError:
        raise ConfigError(
            f"graph {key} takes {spec.input_model.__name__}, which does not accept a {wanted}; a batch's "
            f"{step} step needs a graph like {'summarize@1' if step == 'document' else 'synthesize@1'}"
        ) from None
    missing = _missing_fields(spec.output_model)
    if missing:
        raise ConfigError(
            f"graph {key} returns {spec.output_model.__name__}, which lacks {', '.join(missing)}; a batch's "
            f"{step} step needs an output that validates as a DocumentAnalysis (source, summary, claims)"
        )
    return spec


def _missing_fields(model: type[BaseModel]) -> list[str]:
    if issubclass(model, DocumentAnalysis):
        return []
    required = [name for name, f in DocumentAnalysis.model_fields.items() if f.is_required()]
    return [name for name in required if name not in model.model_fields]
