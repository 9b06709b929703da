"""One real Ray cluster (a head and two one-CPU worker nodes) for the Ray tests.

No ``__init__.py`` here on purpose: a package called ``ray`` under tests/ would shadow Ray.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]
SRC_DIR = TESTS_DIR.parent / "src"


def _need_ray() -> None:
    try:
        import pyarrow  # noqa: F401
        import ray  # noqa: F401
    except ImportError:
        pytest.skip("Ray tests need the 'ray' extra: pip install 'nerve[ray]'")


@pytest.fixture(scope="session")
def cluster() -> Iterator[object]:
    from support.ray_cluster import LocalCluster, cluster_env

    # Ray's session directory holds Unix sockets, whose paths may not exceed 107 bytes:
    # pytest's tmp paths are too long, so the cluster gets a short private dir in /tmp.
    root = Path(tempfile.mkdtemp(prefix="nerve-ray-"))
    cl = LocalCluster(root, cluster_env(TESTS_DIR, SRC_DIR))
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "PYTHONPATH")}
    # The test process connects as a driver too (extract_entities, serve status); Ray reads
    # its auth settings when first imported, so they are set before that.
    os.environ.update({k: cl.env[k] for k in saved})
    try:
        _need_ray()
        cl.start_head()
        cl.add_worker()
        cl.add_worker()
        yield cl
    finally:
        try:
            import ray

            if ray.is_initialized():
                ray.shutdown()
        finally:
            cl.stop()
            shutil.rmtree(root, ignore_errors=True)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
