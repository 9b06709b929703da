"""argparse types for the benchmark scripts (``scripts/host_ceiling.py``,
``scripts/server_ceiling.py``): a bad number is argparse's one-line error, never a traceback."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def at_least(least: float, kind: type[int] | type[float] = int) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` (whole by default) of at least ``least``."""
    noun = "a whole number" if kind is int else "a number"

    def parse(value: str) -> float:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {value!r}") from None
        if not number >= least:  # NaN too
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return number

    return parse
