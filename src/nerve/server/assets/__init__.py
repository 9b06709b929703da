"""Static files served by the HTTP transport (read once, kept in memory)."""

from __future__ import annotations

import functools
from importlib import resources

from ...io.palette import palette_js
from ...types import DEFAULT_AGGREGATION, Aggregation

# Where the page's JavaScript gets the label palette shared with `nerve infer -f html`.
PALETTE_SLOT = "/* nerve:palette */"
STRATEGIES_SLOT = "<!-- nerve:strategies -->"


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _strategy_options() -> str:
    """Every strategy, nerve's default first and selected."""
    names = [DEFAULT_AGGREGATION.value] + [
        a.value for a in Aggregation if a is not DEFAULT_AGGREGATION
    ]
    shown = {
        "none": "none (sub-words)",
        DEFAULT_AGGREGATION.value: f"{DEFAULT_AGGREGATION.value} (default)",
    }
    return "\n".join(
        f'      <option value="{name}"{" selected" if name == DEFAULT_AGGREGATION.value else ""}>'
        f"{shown.get(name, name)}</option>"
        for name in names
    )


@functools.cache
def index_html() -> str:
    """The demo page: paste text, pick a strategy, see entities highlighted (no CDN)."""
    page = _read("index.html")
    return page.replace(PALETTE_SLOT, palette_js()).replace(STRATEGIES_SLOT, _strategy_options())


@functools.cache
def favicon_svg() -> bytes:
    return _read("favicon.svg").encode("utf-8")
