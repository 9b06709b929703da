"""Typed readers for JSON request fields, each failing with a message that names the field.

JSON types are checked strictly (``true`` is not a number, ``1`` is not a boolean): a client
that sends the wrong type gets told, instead of getting a silently different behaviour.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ...errors import InvalidInput


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def as_object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object, got {json_type(body)}")
    return body


def check_known(body: Mapping[str, Any], known: Collection[str]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidInput(f"unknown field(s) {unknown}; known fields: {sorted(known)}")


def required(body: Mapping[str, Any], name: str) -> object:
    if name not in body or body[name] is None:
        raise InvalidInput(f"missing required field '{name}'")
    return body[name]


def get_bool(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(f"'{name}' must be a boolean, got {json_type(value)}")
    return value


def get_str(body: Mapping[str, Any], name: str, default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string, got {json_type(value)}")
    return value


def get_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    # JSON has one number type: 26.0 is the integer 26 (as JSON Schema's "integer" says).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"'{name}' must be an integer, got {json_type(value)}")
    return value


def str_list(value: object, name: str) -> list[str]:
    """A JSON array of strings (may be empty)."""
    if not isinstance(value, list):
        raise InvalidInput(f"'{name}' must be an array of strings, got {json_type(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidInput(f"'{name}[{i}]' must be a string, got {json_type(item)}")
    return value


def str_map(value: object, name: str) -> dict[str, str]:
    """A JSON object of string values (protobuf ``map<string, string>``)."""
    if not isinstance(value, dict):
        raise InvalidInput(f"'{name}' must be an object of strings, got {json_type(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise InvalidInput(f"'{name}.{key}' must be a string, got {json_type(item)}")
        # JSON can carry lone surrogates ("\udc00"); the answer echoes the map as UTF-8, which
        # cannot hold them.
        for part, what in ((key, "key"), (item, "value")):
            if not _is_unicode(part):
                raise InvalidInput(
                    f"'{name}' holds a {what} that is not valid Unicode (a lone surrogate)"
                )
    return dict(value)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
