"""Tag one shard's records with an engine: output rows (input fields + ``entities``), error
rows (id, where, reason) and counts.

The whole shard is one engine call, so the engine forms the same token-budget model batches
from it wherever it runs: locally and on any Ray worker, a shard's scores are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.core import Engine, options_from
from ..types import TextResult
from .records import Record


@dataclass
class ShardOutput:
    rows: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    stats: dict[str, int] = field(default_factory=dict)


def entity_rows(result: TextResult) -> list[dict[str, Any]]:
    """The documented entity fields; ``text`` is the surface form ``text[start:end]``."""
    rows = []
    for e in result.entities:
        row: dict[str, Any] = {
            "start": e.start,
            "end": e.end,
            "label": e.label,
            "score": float(e.score),
            "text": result.text[e.start : e.end],
        }
        if e.raw is not None:  # --raw-scores: the logits of every model label
            row["raw_scores"] = [float(x) for x in e.raw]
        rows.append(row)
    return rows


def run_texts(
    engine: Engine, texts: list[str], options: dict[str, Any]
) -> tuple[list[TextResult], int]:
    """Results and the number of model tokens (all windows) for ``texts``, in one call."""
    opts = options_from(options)
    encoded = engine.tokenize(texts, opts)
    flat = [w for e in encoded for w in e.windows]
    flat_logits: list[np.ndarray] = engine.run_windows(flat) if flat else []
    logits, pos = [], 0
    for e in encoded:
        logits.append(flat_logits[pos : pos + len(e.windows)])
        pos += len(e.windows)
    return engine.decode_many(encoded, logits, opts), sum(len(w) for w in flat)


def error_row(record: Record, id_field: str) -> dict[str, Any]:
    return {
        "id": record.fields.get(id_field),
        **record.where,
        "reason": record.error,
    }


def tag_records(
    engine: Engine, records: list[Record], options: dict[str, Any], id_field: str
) -> ShardOutput:
    good = [r for r in records if r.error is None]
    texts = [r.text or "" for r in good]
    results, tokens = run_texts(engine, texts, options) if texts else ([], 0)
    rows = [
        {**r.fields, "entities": entity_rows(res)} for r, res in zip(good, results, strict=True)
    ]
    errors = [error_row(r, id_field) for r in records if r.error is not None]
    stats = {
        "documents": len(rows),
        "tokens": tokens,
        "entities": sum(len(r["entities"]) for r in rows),
        "failures": len(errors),
    }
    return ShardOutput(rows, errors, stats)
