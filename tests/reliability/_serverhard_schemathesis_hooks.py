"""schemathesis hooks for tests/reliability/test_schemathesis.py (loaded by the schemathesis
CLI through SCHEMATHESIS_HOOKS; not a test module).

One rule of ``/v1/entities`` cannot be said in JSON Schema short of hundreds of branches: the
largest ``stride`` depends on the ``window``. The document states it as a table
(``x-max-stride-by-window``); these hooks keep bodies that break that rule from counting as
"valid request refused". Nothing else is filtered or dropped.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import schemathesis

DOCUMENT_ENV = "NERVE_OPENAPI_DOCUMENT"  # path of the server's /openapi.json, saved by the test
STATUS_REJECTED = "ST202"  # "Schema-valid request rejected"


@cache
def _stride_table() -> tuple[dict[int, int], int]:
    with open(os.environ[DOCUMENT_ENV], encoding="utf-8") as f:
        schema = json.load(f)["components"]["schemas"]["EntitiesRequest"]
    table = {int(w): m for w, m in schema["x-max-stride-by-window"].items()}
    return table, max(table)


def _is_int(value: object) -> bool:
    """An integer to JSON (and to the server): 26 or 26.0."""
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def breaks_only_the_stride_rule(body: Any) -> bool:
    """Whether ``body`` asks for a stride over the table's largest for its window (and does
    not truncate, which ignores the stride)."""
    if not isinstance(body, dict) or body.get("truncate") is True:
        return False
    stride, window = body.get("stride"), body.get("window")
    if not _is_int(stride) or not (window is None or _is_int(window)):
        return False
    table, model_limit = _stride_table()
    largest = table.get(model_limit if window is None else int(window))
    return largest is not None and stride > largest


@schemathesis.hook("filter_body")
def stride_fits_its_window(context: Any, body: Any) -> bool:
    """Generated bodies (fuzzing phase) do not break the stride rule."""
    if context.operation is None or context.operation.path != "/v1/entities":
        return True
    return not breaks_only_the_stride_rule(body)


@schemathesis.hook("filter_failure")
def stride_refusal_is_right(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """The coverage phase builds its bodies without filters: drop exactly the "valid request
    refused" failures whose body breaks the stride rule and whose answer is the 422 that names
    the stride. The CLI reports how many failures were dropped."""
    if failure.code != STATUS_REJECTED or case.operation.path != "/v1/entities":
        return True
    refused_for_stride = response.status_code == 422 and b'"stride ' in response.content
    return not (refused_for_stride and breaks_only_the_stride_rule(case.body))
