"""Padding-aware token-budget batching (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def budget_batches(lengths: Sequence[int], max_tokens: int, max_rows: int = 512) -> list[list[int]]:
    """Group item indices so that each batch's padded size (rows × longest) fits ``max_tokens``.

    Items are taken longest first, so each batch holds items of similar length and padding
    stays small. An item longer than the budget still gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out: list[list[int]] = []
    current: list[int] = []
    width = 0
    for i in order:
        w = max(width, lengths[i])
        if current and (w * (len(current) + 1) > max_tokens or len(current) >= max_rows):
            out.append(current)
            current, w = [], lengths[i]
        current.append(i)
        width = w
    if current:
        out.append(current)
    return out


def packed_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Consecutive items whose total length fits ``max_tokens`` (no padding is computed)."""
    out: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, n in enumerate(lengths):
        if current and total + n > max_tokens:
            out.append(current)
            current, total = [], 0
        current.append(i)
        total += n
    if current:
        out.append(current)
    return out


def pad_rows(rows: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad int64 rows → (ids [batch, width], attention mask [batch, width])."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for row, r in enumerate(rows):
        ids[row, : len(r)] = r
        mask[row, : len(r)] = 1
    return ids, mask
