"""Small pieces of nerve batch / nerve.ray that need no cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def test_the_cli_and_import_nerve_load_neither_ray_nor_pyarrow() -> None:
    code = (
        "import sys, nerve, nerve.ray; from nerve.cli.main import build_parser; build_parser(); "
        "print(sorted(m for m in ('ray', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_plan_cuts_lines_by_rows_and_bytes(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from nerve.batch.plan import plan_shards
    from nerve.batch.records import read_shard
    from nerve.batch.sources import expand_inputs

    lines = ["short"] * 5 + ["x" * 100] + ["a", "b"]
    (tmp_path / "t.txt").write_text("\n".join(lines))  # no newline at the end
    files = expand_inputs([str(tmp_path)])
    shards = plan_shards(files, rows=3, max_bytes=50, whole_files=False)
    got = [[r.text for r in read_shard(s, "text")] for s in shards]
    assert sum(got, []) == lines  # every line once, in order, the last one too
    assert [len(g) for g in got] == [3, 3, 2]  # the long line closes its shard early
    assert [r.where["line"] for r in read_shard(shards[1], "text")] == [4, 5, 6]


def test_ray_addresses_are_parsed_and_bad_ones_refused() -> None:
    from nerve.ray.connect import RayUnavailable, _check_answers, _host_port

    assert _host_port("ray://10.0.0.5:10001") == ("10.0.0.5", 10001)
    assert _host_port("[::1]:6379") == ("::1", 6379)
    with pytest.raises(RayUnavailable, match="expected auto, HOST:PORT"):
        _check_answers("nonsense", 1.0)


def test_serve_args_are_nerve_serve_settings() -> None:
    # In a subprocess: importing Ray here would fix its auth settings for the whole session,
    # before tests/ray's cluster sets them.
    pytest.importorskip("ray")
    code = """
import pytest
from nerve.errors import InvalidInput
from nerve.ray.serve import server_config

config = server_config({"threads": "1", "max_batch_tokens": 4096, "model": None})
assert config.threads == 1 and config.max_batch_tokens == 4096
with pytest.raises(InvalidInput, match="unknown nerve setting 'colour'"):
    server_config({"colour": "red"})
with pytest.raises(InvalidInput, match="http_options"):
    server_config({"http_port": 9000})
print("ok")
"""
    import os

    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
