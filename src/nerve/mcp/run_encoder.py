"""encoderfile's MCP tool ``run_encoder``: its ``/predict`` request in, its response out.

The arguments are encoderfile's token-classification request (``inputs``, optional
``metadata``) and the structured result is the ``/predict`` body — one row per sub-word with
a probability per label — built by the same wire code as the HTTP route, so an agent written
against an encoderfile gets the same answer from nerve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from pydantic import BaseModel, Field

from ..errors import NerveError
from ..server.wire.encoderfile import PREDICT_OPTIONS, parse_predict, predict_json, token_rows
from ..types import InferenceOptions, TextResult

TOOL_NAME = "run_encoder"
DESCRIPTION = (
    "Performs token classification of input text sequences: for each text, every sub-word "
    "token with its vocabulary piece, character offsets [start, end), one probability per "
    "label and the top label."
)

Extract = Callable[[Sequence[str], InferenceOptions], Awaitable[list[TextResult]]]
Piece = Callable[[int], "str | None"]


class TokenInfo(BaseModel):
    token: str = Field(description="the vocabulary piece, e.g. '##zilla' or '[UNK]'")
    token_id: int
    start: int = Field(description="start offset in the input, in Unicode characters")
    end: int = Field(description="end offset (exclusive), in Unicode characters")


class TokenClassification(BaseModel):
    token_info: TokenInfo
    scores: list[float] = Field(description="one probability per label, in id2label order")
    label: str
    score: float


class TokenClassificationResult(BaseModel):
    tokens: list[TokenClassification]


class TokenClassificationResponse(BaseModel):
    results: list[TokenClassificationResult] = Field(description="one entry per input, in order")
    model_id: str
    metadata: dict[str, str] | None = None


def make_run_encoder(
    extract: Extract,
    model_id: str,
    piece: Piece,
    tool_error: Callable[[str], Exception],
) -> Callable[..., Awaitable[TokenClassificationResponse]]:
    async def run_encoder(
        inputs: Annotated[list[str], Field(description="the texts to classify")],
        metadata: Annotated[
            dict[str, str] | None, Field(description="echoed back in the response")
        ] = None,
    ) -> TokenClassificationResponse:
        try:
            body: dict[str, object] = {"inputs": inputs}
            if metadata is not None:
                body["metadata"] = metadata
            request = parse_predict(body)
            results = await extract(request.texts, PREDICT_OPTIONS)
        except NerveError as exc:
            raise tool_error(exc.message) from None
        rows = [token_rows(r, piece) for r in results]
        return TokenClassificationResponse.model_validate(
            predict_json(rows, model_id, request.metadata)
        )

    return run_encoder
