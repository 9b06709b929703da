"""Reading CoNLL-style column files (one token per line, blank lines between sentences).

The reader is strict on purpose: a silently mis-parsed evaluation file produces a plausible but
wrong F1, so every structural problem is a :class:`~nerve.errors.DataError` naming file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nerve.errors import DataError

__all__ = ["Sentence", "check_tags", "conll_dir", "read_conll", "to_iob2"]

ENV_VAR = "NERVE_CONLL_DIR"
_DOCSTART = "-DOCSTART-"
_UTF8_BOM = b"\xef\xbb\xbf"
# Only IOB tags: an IOBES file read as IOB would silently lose its E-/S- boundaries.
_TAG_RE = re.compile(r"O|[BI]-\S+")


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    tags: tuple[str, ...]
    line: int  # 1-based line number of the first token in the file
    document: int = 0  # index of its document: each -DOCSTART- line after text starts one

    def __post_init__(self) -> None:
        if len(self.words) != len(self.tags):
            raise ValueError(
                f"sentence at line {self.line}: {len(self.words)} words but {len(self.tags)} tags"
            )

    def __len__(self) -> int:
        return len(self.words)


def conll_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the CoNLL-2003 files live: ``$NERVE_CONLL_DIR``, else ``../shared/data/conll2003``.

    The default is resolved next to the project checkout (found from this file in an editable
    install) and then next to the current directory; the first that exists wins, otherwise the
    first candidate is returned so that callers can test ``.is_dir()`` and skip.
    """
    env = os.environ if environ is None else environ
    override = env.get(ENV_VAR)
    if override:
        return Path(override)
    candidates = [root.parent / "shared" / "data" / "conll2003" for root in _project_roots()]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def _project_roots() -> list[Path]:
    roots = []
    # src/nerve/data/conll.py -> the checkout root, when running from a source tree.
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file():
        roots.append(checkout)
    roots.append(Path.cwd())
    return roots


def read_conll(path: str | Path, *, tag_column: int = -1) -> list[Sentence]:
    """Read a whitespace-separated column file; words are column 0, tags ``tag_column``.

    ``-DOCSTART-`` lines and runs of blank lines separate sentences. The first token line fixes
    the column count for the whole file. Tags must be ``O``, ``B-X`` or ``I-X`` (IOB1 or IOB2).
    """
    path = Path(path)
    lines = _read_lines(path)
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    first_line = 0
    ncols = 0
    tag_idx = 0
    valid_tags: set[str] = set()  # validate each distinct tag once: keeps big files fast
    document = 0
    for lineno, raw in enumerate(lines, start=1):
        fields = raw.split()
        if not fields or fields[0] == _DOCSTART:
            if words:
                sentences.append(Sentence(tuple(words), tuple(tags), first_line, document))
                words, tags = [], []
            if fields and sentences and sentences[-1].document == document:
                document += 1
            continue
        if ncols == 0:
            ncols = len(fields)
            tag_idx = _resolve_tag_column(path, lineno, ncols, tag_column)
        elif len(fields) != ncols:
            raise DataError(
                f"{path}:{lineno}: expected {ncols} columns (as on the first token line), "
                f"found {len(fields)}"
            )
        tag = fields[tag_idx]
        if tag not in valid_tags:
            _check_tag_syntax(path, lineno, tag)
            valid_tags.add(tag)
        if not words:
            first_line = lineno
        words.append(fields[0])
        tags.append(tag)
    if words:
        sentences.append(Sentence(tuple(words), tuple(tags), first_line, document))
    return sentences


def group_documents(sentences: Sequence[Sentence]) -> list[list[Sentence]]:
    """Consecutive sentences of the same document, in order (a file without ``-DOCSTART-``
    lines is one document)."""
    documents: list[list[Sentence]] = []
    for sentence in sentences:
        if documents and documents[-1][0].document == sentence.document:
            documents[-1].append(sentence)
        else:
            documents.append([sentence])
    return documents


def _read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        lineno = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}:{lineno}: invalid UTF-8 (byte {data[exc.start]:#04x}): {exc.reason}"
        ) from None
    # Not str.splitlines(): it also splits on \x1c, \x85, \u2028... which would shift line
    # numbers away from what editors and `sed -n` show. \r of CRLF is eaten by split().
    return text.split("\n")


def _resolve_tag_column(path: Path, lineno: int, ncols: int, tag_column: int) -> int:
    if ncols < 2:
        raise DataError(f"{path}:{lineno}: need at least a word and a tag column, found {ncols}")
    if not -ncols <= tag_column < ncols or tag_column % ncols == 0:
        raise DataError(
            f"{path}:{lineno}: tag column {tag_column} is not a tag column of a "
            f"{ncols}-column file (column 0 holds the words)"
        )
    return tag_column % ncols


def _check_tag_syntax(path: Path, lineno: int, tag: str) -> None:
    if not _TAG_RE.fullmatch(tag):
        raise DataError(f"{path}:{lineno}: tag {tag!r} is not an IOB tag (O, B-TYPE or I-TYPE)")


def check_tags(
    sentences: Iterable[Sentence], allowed_labels: Collection[str], path: str | Path
) -> None:
    """Raise :class:`DataError` if the data uses a tag the model cannot produce.

    IOB1 and IOB2 files are both fine against an IOB2 or IOB1 model: ``I-X`` needs ``I-X`` in
    the model, ``B-X`` is accepted when the model has ``B-X`` or, for a pure IOB1 model that
    never learnt the rare ``B-`` separator, ``I-X`` (the type is known; only the boundary
    between two adjacent same-type entities could not be predicted).
    """
    allowed = frozenset(allowed_labels)
    for sentence in sentences:
        for offset, tag in enumerate(sentence.tags):
            if not _tag_allowed(tag, allowed):
                raise DataError(
                    f"{path}:{sentence.line + offset}: tag {tag!r} is not a label of the model "
                    f"(model labels: {', '.join(sorted(allowed))})"
                )


def _tag_allowed(tag: str, allowed: frozenset[str]) -> bool:
    if tag in allowed:
        return True
    return tag.startswith("B-") and "I-" + tag[2:] in allowed


def to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 -> IOB2: an ``I-X`` that starts a chunk (after ``O``, another type, or at the
    start) becomes ``B-X``. IOB2 input is returned unchanged."""
    out: list[str] = []
    prev_type = ""  # "" = outside any chunk
    for tag in tags:
        if tag.startswith("I-") and tag[2:] != prev_type:
            out.append("B-" + tag[2:])
        else:
            out.append(tag)
        prev_type = tag[2:] if tag.startswith(("B-", "I-")) else ""
    return out
