"""One real Ray cluster (a head and two one-CPU worker nodes) for the Ray tests.

No ``__init__.py`` here on purpose: a package called ``ray`` under tests/ would shadow Ray.
"""

from __future__ import annotations

import os
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
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    _need_ray()
    from support.ray_cluster import LocalCluster, cluster_env

    root = tmp_path_factory.mktemp("ray-cluster")
    cl = LocalCluster(root, cluster_env(TESTS_DIR, SRC_DIR))
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "PYTHONPATH")}
    # The test process connects as a driver too (extract_entities, serve status).
    os.environ.update({k: cl.env[k] for k in saved})
    try:
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
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
