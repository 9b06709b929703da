"""Text that no tokenizer can encode, found before it reaches one."""

from __future__ import annotations


def lone_surrogate(text: str) -> int | None:
    """Where ``text`` holds a lone surrogate, or None.

    JSON allows one ("\\ud800"), and Python decodes a command-line byte that is not UTF-8 as
    one; no tokenizer can encode it. Callers refuse such text with this position instead of
    failing inside the tokenizer."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None
