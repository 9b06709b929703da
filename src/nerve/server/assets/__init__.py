"""Static files served by the HTTP transport (read once, kept in memory)."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def index_html() -> str:
    """The demo page: paste text, pick a strategy, see entities highlighted (no CDN)."""
    return resources.files(__package__).joinpath("index.html").read_text(encoding="utf-8")
