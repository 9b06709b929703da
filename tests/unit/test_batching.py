"""Token-budget batching: every item once, padded size within budget, little padding."""

from __future__ import annotations

import random

import numpy as np

from nerve.engine.batching import (
    SPREAD_WIDTH_TOLERANCE,
    budget_batches,
    pad_rows,
    spread_batches,
)


def test_every_item_exactly_once_and_within_budget() -> None:
    rng = random.Random(7)
    lengths = [rng.randint(3, 120) for _ in range(1000)]
    batches = budget_batches(lengths, max_tokens=2048, max_rows=64)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    for b in batches:
        assert len(b) <= 64
        assert max(lengths[i] for i in b) * len(b) <= 2048
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    assert padded < 1.1 * sum(lengths)  # length-sorted: padding waste stays small


def test_oversized_item_gets_its_own_batch() -> None:
    batches = budget_batches([10, 5000, 10], max_tokens=100)
    assert [1] in batches and sorted(i for b in batches for i in b) == [0, 1, 2]


def test_pad_rows() -> None:
    ids, mask = pad_rows([np.array([5, 6, 7]), np.array([8])], pad_id=1)
    assert ids.tolist() == [[5, 6, 7], [8, 1, 1]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_spread_batches_group_near_equal_lengths_costliest_first() -> None:
    rng = random.Random(11)
    lengths = [rng.randint(5, 60) for _ in range(50)]
    batches = spread_batches(lengths, max_tokens=512)
    assert sorted(i for b in batches for i in b) == list(range(50))
    costs = []
    for b in batches:
        width = max(lengths[i] for i in b)
        assert width * len(b) <= 512 or len(b) == 1
        # every member is within the tolerance of the batch's longest: padding stays small
        assert min(lengths[i] for i in b) >= width * (1 - SPREAD_WIDTH_TOLERANCE)
        costs.append(width * len(b))
    assert costs == sorted(costs, reverse=True)  # the sessions take the costliest first
    padded = sum(costs)
    assert padded < 1.1 * sum(lengths)
    # the one padded batch budget_batches makes of the same items pads far more
    (one,) = budget_batches(lengths, max_tokens=4096)
    assert padded < 0.8 * max(lengths) * len(one)


def test_spread_batches_of_nothing_and_of_one() -> None:
    assert spread_batches([], 512) == []
    assert spread_batches([7], 512) == [[0]]
