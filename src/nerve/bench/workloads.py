"""The texts every system runs on, and their sizes counted once for all systems."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.conll import conll_dir, read_conll
from ..errors import InvalidInput

WORKLOADS = ("short", "long")
DOC_WORDS = 2000  # words per long document
DEFAULT_LIMITS = {"short": 1000, "long": 16}  # texts per workload when --limit is not given


@dataclass(frozen=True)
class Workload:
    """One set of texts and its size; ``tokens`` are the model tokenizer's sub-words with
    special tokens, one unlimited encoding per text (no padding, window overlaps not
    counted), so every system is credited with the same work."""

    name: str
    texts: tuple[str, ...]
    tokens: int
    words: int

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "texts": len(self.texts),
            "tokens": self.tokens,
            "words": self.words,
        }


def default_conll_file() -> Path:
    return conll_dir() / "eng.testb"


def read_sentences(path: Path) -> list[tuple[str, ...]]:
    """The word sequences of a CoNLL file (eng.testb: CoNLL-2003's test set)."""
    if not path.is_file():
        raise InvalidInput(
            f"{path} not found: point NERVE_CONLL_DIR at the CoNLL-2003 files or pass --conll"
        )
    return [s.words for s in read_conll(path) if len(s)]


def short_texts(sentences: Sequence[Sequence[str]], limit: int) -> list[str]:
    """Test sentences, words joined with single spaces."""
    return [" ".join(words) for words in sentences[:limit]]


def long_texts(
    sentences: Sequence[Sequence[str]], limit: int, doc_words: int = DOC_WORDS
) -> list[str]:
    """Documents of about ``doc_words`` words: consecutive sentences until the count is
    reached. When the data runs out before ``limit`` documents, the last one may be shorter
    (it is kept only if it has half the words)."""
    docs: list[str] = []
    current: list[str] = []
    for words in sentences:
        current.extend(words)
        if len(current) >= doc_words:
            docs.append(" ".join(current))
            current = []
            if len(docs) == limit:
                return docs
    if len(current) >= doc_words // 2:
        docs.append(" ".join(current))
    return docs[:limit]


def count_tokens(tokenizer_file: Path, texts: Sequence[str]) -> int:
    """Sub-words including specials, per text encoded whole (no truncation, no padding)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return sum(len(e.ids) for e in tokenizer.encode_batch(list(texts)))


def build_workloads(
    names: Sequence[str],
    sentences: Sequence[Sequence[str]],
    tokenizer_file: Path,
    limit: int | None = None,
) -> list[Workload]:
    out = []
    for name in names:
        if name not in WORKLOADS:
            raise InvalidInput(f"unknown workload {name!r}; expected some of {WORKLOADS}")
        n = limit if limit is not None else DEFAULT_LIMITS[name]
        texts = short_texts(sentences, n) if name == "short" else long_texts(sentences, n)
        if not texts:
            raise InvalidInput(f"workload {name!r} has no texts (too little data)")
        tokens = count_tokens(tokenizer_file, texts)
        words = sum(len(t.split()) for t in texts)
        out.append(Workload(name, tuple(texts), tokens, words))
    return out
