"""Records as JSON text that every JSON reader takes.

Python's ``json.dumps`` writes ``NaN`` and ``Infinity`` for non-finite floats (a Parquet
float column can hold them; so can a score from a model whose weights went non-finite), and
those are not JSON: jq, ``JSON.parse`` and other strict readers refuse the whole line. They
are written as null here. Values JSON has no type for (Parquet timestamps, durations,
decimals, binary) are written as text, the same way by ``nerve infer`` and ``nerve batch``.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import math
from typing import Any


def json_value(value: Any) -> Any:
    """An input value JSON has no type for, as JSON: timestamps, dates and times as ISO 8601
    text, durations as ISO 8601 durations (``PT90S``), decimals as their exact text, binary
    as base64 text, anything else as its ``str``."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return _iso_duration(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _iso_duration(value: datetime.timedelta) -> str:
    """``PT<seconds>S``, exact to the microsecond (``-PT1.5S`` for a negative one)."""
    seconds = decimal.Decimal(value.days * 86_400 + value.seconds) + decimal.Decimal(
        value.microseconds
    ).scaleb(-6)
    sign = "-" if seconds < 0 else ""
    return f"{sign}PT{abs(seconds).normalize():f}S"


def dumps(obj: Any, *, ensure_ascii: bool = False, indent: int | None = None) -> str:
    """``json.dumps`` with ``json_value`` for other types and null for non-finite floats."""
    try:
        return json.dumps(
            obj, ensure_ascii=ensure_ascii, indent=indent, allow_nan=False, default=json_value
        )
    except ValueError:  # a NaN or an infinity somewhere: rare, so only then walk the record
        return json.dumps(
            _finite(obj),
            ensure_ascii=ensure_ascii,
            indent=indent,
            allow_nan=False,
            default=json_value,
        )


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    return obj
