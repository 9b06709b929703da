"""nerve on Ray (extra ``ray``): corpus jobs as Ray Data pipelines, an entities stage for
users' own Ray Data pipelines, and a Ray Serve deployment of the nerve server.

Nothing here imports Ray until it is used, so ``import nerve`` never needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dataset import EntityExtractor


def extract_entities(ds: Any, **kwargs: Any) -> Any:
    """Add an ``entities`` column to a Ray Dataset; see ``nerve.ray.dataset``."""
    from .dataset import extract_entities as run

    return run(ds, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "EntityExtractor":
        from .dataset import EntityExtractor

        return EntityExtractor
    raise AttributeError(f"module 'nerve.ray' has no attribute {name!r}")


__all__ = ["EntityExtractor", "extract_entities"]
