"""Plain, immutable result and option types shared by every layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .errors import InvalidInput


class Aggregation(str, Enum):
    """The transformers pipeline's aggregation strategies, with its exact semantics, plus
    nerve's opt-in ``word``."""

    NONE = "none"
    SIMPLE = "simple"
    FIRST = "first"
    AVERAGE = "average"
    MAX = "max"
    # nerve only: a word is a whitespace-delimited run of text, labelled by its first
    # sub-word, then grouped like the others. This is how CoNLL-trained models (nerve's
    # default model included) learn labels, so "U.K." stays one LOC where the pipeline's
    # strategies split it at its punctuation pieces.
    WORD = "word"

    @classmethod
    def parse(cls, value: str | Aggregation) -> Aggregation:
        if isinstance(value, Aggregation):
            return value
        if not isinstance(value, str):
            raise InvalidInput(f"aggregation_strategy must be a string, got {type(value).__name__}")
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(a.value for a in cls)
            raise InvalidInput(
                f"unknown aggregation_strategy {value!r}; expected one of: {names}"
            ) from None


# The one default strategy of nerve's own surfaces: the Python API, the CLI, /v1/entities,
# the web page, the MCP tool and a build's executable. ``word`` keeps every word whole
# whatever the model was trained on: a model that labels only each word's first sub-word
# (CoNLL-style, as most published NER checkpoints and nerve's own earlier default model)
# gives fragments under the pipeline's ``simple``, while a model that labels every sub-word
# gives the same words under ``word`` as under ``first``. The pipeline-compatible routes
# (Baseten /predict_tokens, encoderfile /predict) keep their contracts' default ``none``.
# The rule is written down in README.md ("Defaults").
DEFAULT_AGGREGATION = Aggregation.WORD


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity (aggregated strategies) or one sub-word token (strategy ``none``).

    ``start``/``end`` are Unicode code-point offsets into the caller's original string, so
    ``text[start:end]`` is always the surface form. ``word`` is what the transformers pipeline
    reports (the tokenizer's decoding of the pieces, e.g. lower-cased for uncased models).
    ``label`` is the entity type without ``B-``/``I-`` for aggregated results and the full
    model label for ``none``. ``index``/``token_id`` are set for ``none`` only.
    """

    label: str
    score: float
    start: int
    end: int
    word: str
    index: int | None = None
    token_id: int | None = None
    # With ``raw_scores``: logits for every model label (label order), averaged over the
    # entity's sub-words for aggregated strategies.
    raw: tuple[float, ...] | None = None
    # Set on entities found by an entity pattern (nerve.patterns): the pattern's "id", if any.
    pattern_id: str | None = None

    def to_pipeline_dict(self) -> dict[str, Any]:
        """The transformers pipeline's dict form for this entity."""
        if self.index is not None:
            return {
                "entity": self.label,
                "score": self.score,
                "index": self.index,
                "word": self.word,
                "start": self.start,
                "end": self.end,
            }
        return {
            "entity_group": self.label,
            "score": self.score,
            "word": self.word,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class TextResult:
    """The entities found in one input text, in order of ``start``."""

    text: str
    entities: tuple[Entity, ...]
    # With ``truncate``: the (start, end) stretch of ``text`` the model read; words outside
    # it were cut off and never labelled. None: the whole text was read.
    read_span: tuple[int, int] | None = None

    def to_pipeline(self) -> list[dict[str, Any]]:
        return [e.to_pipeline_dict() for e in self.entities]

    def to_spacy(self) -> dict[str, Any]:
        """spaCy's ``{text, ents: [{start, end, label}]}`` form (as displaCy consumes it)."""
        return {
            "text": self.text,
            "ents": [{"start": e.start, "end": e.end, "label": e.label} for e in self.entities],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "entities": [
                {
                    "label": e.label,
                    "score": e.score,
                    "start": e.start,
                    "end": e.end,
                    "text": self.text[e.start : e.end],
                    "word": e.word,
                    **({"index": e.index, "token_id": e.token_id} if e.index is not None else {}),
                    **({"raw_scores": list(e.raw)} if e.raw is not None else {}),
                    **({"pattern_id": e.pattern_id} if e.pattern_id is not None else {}),
                }
                for e in self.entities
            ],
        }


@dataclass(frozen=True, slots=True)
class WordLabels:
    """One label per word for pre-split input (the label of each word's first sub-word)."""

    words: tuple[str, ...]
    labels: tuple[str, ...]
    scores: tuple[float, ...]
    # With ``truncate``: the (first, last + 1) word indices the model read. The words outside
    # it were cut off: their label ``O`` with score 0.0 is no prediction. None: all were read.
    read_span: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class InferenceOptions:
    """Per-call options; validated once at construction."""

    aggregation_strategy: Aggregation = DEFAULT_AGGREGATION
    ignore_labels: tuple[str, ...] = ("O",)
    truncate: bool = False
    truncation_direction: str = "right"
    # Window length in tokens (specials included); None = the model's limit.
    window: int | None = None
    # Tokens shared by consecutive windows of a long text (like the pipeline's ``stride``).
    # Given, it also asks for token windows (see ``windowing``). None: sentence windows, which
    # share nothing; with token windows asked by ``windowing``, a quarter of the window's
    # content tokens (127 for a 512-token window).
    stride: int | None = None
    raw_scores: bool = False
    # When False, a text longer than the window is refused instead of windowed.
    allow_windows: bool = True
    # How a long text is cut: "sentences" (windows of whole sentences that never cross a
    # paragraph break: a paragraph gets the same entities wherever it falls) or "tokens" (the
    # pipeline's overlapping token windows). None: "tokens" when ``stride`` is given (the
    # pipeline's parameter asks for the pipeline's windows), else "sentences".
    windowing: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "aggregation_strategy", Aggregation.parse(self.aggregation_strategy)
        )
        direction = self.truncation_direction
        if not isinstance(direction, str) or direction.strip().lower() not in ("left", "right"):
            raise InvalidInput(f"truncation_direction must be 'left' or 'right', got {direction!r}")
        object.__setattr__(self, "truncation_direction", direction.strip().lower())
        if self.ignore_labels is None:  # the pipeline's None: its default, ["O"]
            object.__setattr__(self, "ignore_labels", ("O",))
        if isinstance(self.ignore_labels, str) or not isinstance(self.ignore_labels, Sequence):
            raise InvalidInput("ignore_labels must be a list of label names")
        if not all(isinstance(label, str) for label in self.ignore_labels):
            raise InvalidInput(
                f"ignore_labels must be label names (strings), got {self.ignore_labels!r}"
            )
        object.__setattr__(self, "ignore_labels", tuple(self.ignore_labels))
        for name in ("truncate", "raw_scores", "allow_windows"):
            # Truthiness would make "no" and "false" mean yes.
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.windowing not in (None, "sentences", "tokens"):
            raise InvalidInput(f"windowing must be 'sentences' or 'tokens', got {self.windowing!r}")
        # bool is an int to Python; True is not a stride.
        if self.stride is not None and (
            isinstance(self.stride, bool) or not isinstance(self.stride, int) or self.stride < 0
        ):
            raise InvalidInput(f"stride must be a non-negative integer, got {self.stride!r}")
        if self.window is not None and (
            isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 3
        ):
            raise InvalidInput(f"window must be an integer >= 3, got {self.window!r}")
