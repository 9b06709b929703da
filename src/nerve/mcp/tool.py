"""The ``extract_entities`` MCP tool: its schema and the mapping from nerve's results.

Pure functions and pydantic models, no transport: ``server`` registers ``make_tool``'s
function with the MCP SDK, which derives the tool's input schema from its signature and its
output schema from ``ExtractResult``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..errors import InvalidInput, NerveError
from ..types import Aggregation, InferenceOptions, TextResult

TOOL_NAME = "extract_entities"
AggregationName = Literal["none", "simple", "first", "average", "max", "word"]

DESCRIPTION = (
    "Find named entities (people, organizations, locations, ...) in text with a "
    "token-classification model. Give `text` for one text or `texts` for several. Returns, "
    "per text, the entities with their label, surface text, character offsets [start, end) "
    "and confidence score."
)

# (texts, options) → entities per text; the server passes its InferenceService's method.
Extract = Callable[[Sequence[str], InferenceOptions], Awaitable[list[TextResult]]]


class EntityOut(BaseModel):
    label: str = Field(description="entity type, e.g. PER (the BIO label for strategy 'none')")
    text: str = Field(description="the entity as it appears in the input: text[start:end]")
    start: int = Field(description="start offset in the input, in Unicode characters")
    end: int = Field(description="end offset (exclusive), in Unicode characters")
    score: float = Field(description="confidence between 0 and 1")


class TextEntities(BaseModel):
    entities: list[EntityOut]


class ExtractResult(BaseModel):
    model_id: str
    aggregation_strategy: str
    results: list[TextEntities] = Field(description="one entry per input text, in order")


def input_texts(text: str | None, texts: list[str] | None) -> list[str]:
    """Exactly one of ``text`` / ``texts``."""
    if (text is None) == (texts is None):
        raise InvalidInput("give exactly one of `text` (a string) or `texts` (a list of strings)")
    return [text] if text is not None else list(texts or [])


def to_result(
    results: Sequence[TextResult], model_id: str, aggregation: Aggregation
) -> ExtractResult:
    return ExtractResult(
        model_id=model_id,
        aggregation_strategy=aggregation.value,
        results=[
            TextEntities(
                entities=[
                    EntityOut(
                        label=e.label,
                        text=r.text[e.start : e.end],
                        start=e.start,
                        end=e.end,
                        score=float(e.score),
                    )
                    for e in r.entities
                ]
            )
            for r in results
        ],
    )


def make_tool(
    extract: Extract,
    model_id: str,
    default_aggregation: str,
    tool_error: Callable[[str], Exception],
) -> Callable[..., Awaitable[ExtractResult]]:
    """The tool function; its signature is the tool's input schema.

    ``tool_error`` makes the SDK's "expected failure" exception: nerve's errors (bad input,
    limits, timeouts, a failing transform) reach the agent with their message, which it can
    act on; anything else is reported by the SDK without details.
    """
    default = Aggregation.parse(default_aggregation).value

    async def extract_entities(
        text: Annotated[str | None, Field(description="one text to tag")] = None,
        texts: Annotated[
            list[str] | None, Field(description="several texts to tag (instead of `text`)")
        ] = None,
        aggregation_strategy: Annotated[
            AggregationName,
            Field(
                description="how sub-word predictions become entities (as in the transformers "
                "NER pipeline): 'simple', 'first', 'average', 'max' give whole entities; "
                "'none' gives one row per sub-word token; nerve's 'word' keeps whole words "
                "(split at surrounding punctuation)"
            ),
        ] = default,  # type: ignore[assignment]
    ) -> ExtractResult:
        try:
            batch = input_texts(text, texts)
            strategy = Aggregation.parse(aggregation_strategy)
            results = await extract(batch, InferenceOptions(aggregation_strategy=strategy))
        except NerveError as exc:
            raise tool_error(exc.message) from None
        return to_result(results, model_id, strategy)

    return extract_entities
