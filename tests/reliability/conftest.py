"""The reliability suite: a real ``nerve serve`` (the default embedded model) on loopback,
attacked and loaded. Sizes are bounded for CI; ``NERVE_RELIABILITY=full`` runs the full ones:

    NERVE_RELIABILITY=full python -m pytest tests/reliability -m reliability
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

import nerve

FULL = os.environ.get("NERVE_RELIABILITY", "").strip().lower() == "full"


def scale(bounded: int, full: int) -> int:
    return full if FULL else bounded


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The embedded default model: the one ``nerve serve`` serves with no --model."""
    return Path(nerve.__file__).parent / "models" / "default"


@pytest.fixture(scope="session", autouse=True)
def many_descriptors() -> None:
    """Stalled-connection tests hold thousands of sockets on the client side too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 12_000 if hard == resource.RLIM_INFINITY else min(12_000, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
