"""What went wrong in ``json.loads``, said for a user.

``json.loads`` raises ``JSONDecodeError`` (with ``msg``, ``lineno``, ``colno``) for bad syntax,
but a plain ``ValueError`` for an integer of more than ``sys.get_int_max_str_digits()`` digits
(4,300 by default): the second must be caught too, or one long number in an input file or a
request body ends in a traceback.
"""

from __future__ import annotations

import json
import sys


def json_problem(exc: ValueError) -> str:
    """A short description of why ``json.loads`` refused its input."""
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if "integer string conversion" in str(exc):
        return f"a number has more than {sys.get_int_max_str_digits():,} digits"
    return str(exc)


def loads_strict(text: str | bytes) -> object:
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and ``-Infinity`` (Python reads them;
    JSON has no such values, and a record holding one could not be written back as JSON)."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")
