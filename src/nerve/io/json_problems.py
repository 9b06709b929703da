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
