"""``nerve batch --ray`` on a real 3-node local Ray cluster: the same output as a local run,
every row exactly once when a worker node dies mid-job, errors shard with ids."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.doc_commands import commands
from support.ray_corpus import part_bytes, read_errors, read_parts, write_corpus

JOB_SECONDS = 600


def batch(
    env: dict[str, str], *args: str, timeout: float = JOB_SECONDS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "batch", "--no-progress", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def run_doc_command(
    argv: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=JOB_SECONDS
    )


def test_ray_output_equals_local_output_and_bad_rows_go_to_errors(cluster, tmp_path: Path) -> None:
    """docs/ray.md's laptop command, then its cluster command (--ray auto): same shards."""
    rows = write_corpus(tmp_path / "corpus", 40)
    [laptop, *_] = commands("On a laptop")
    [on_cluster] = commands("On an existing cluster")
    local = run_doc_command(laptop, tmp_path, cluster.env)
    assert local.returncode == 0, local.stderr
    (tmp_path / "tagged").rename(tmp_path / "local")
    env = {**cluster.env, "RAY_ADDRESS": cluster.address}
    on_ray = run_doc_command(on_cluster, tmp_path, env)
    assert on_ray.returncode == 0, on_ray.stderr
    (tmp_path / "tagged").rename(tmp_path / "ray")
    # Byte-identical shards: same rows, same entities, same scores.
    assert part_bytes(tmp_path / "ray") == part_bytes(tmp_path / "local")
    out = read_parts(tmp_path / "ray")
    good = [r for r in out if r["id"] != "ok-after-bad"]
    assert [r["id"] for r in good] == [r["id"] for r in rows]
    assert all(
        o["meta"] == r["meta"] and o["text"] == r["text"] for o, r in zip(good, rows, strict=True)
    )
    long_row = next(o for o in good if len(o["text"]) > 3000)
    assert {e["text"] for e in long_row["entities"]} >= {"Barack Obama", "Berlin"}
    assert max(e["start"] for e in long_row["entities"]) > 3000  # entities past the 1st window
    assert any(e["text"] == "Zürich" for o in good for e in o["entities"])
    for o in out:
        for e in o["entities"]:
            assert o["text"][e["start"] : e["end"]] == e["text"]
    errors = read_errors(tmp_path / "ray")
    assert errors == read_errors(tmp_path / "local")
    reasons = {e["id"]: e["reason"] for e in errors}
    assert set(reasons) == {"bad-int", None, "bad-utf8", "no-text"}  # bad JSON has no id
    assert "not a string" in reasons["bad-int"] and "UTF-8" in reasons["bad-utf8"]
    assert all(e["source"].endswith("c.jsonl") and e["line"] >= 1 for e in errors)
    assert json.loads((tmp_path / "ray" / "_SUCCESS").read_text())["mode"] == "ray"
    manifest = json.loads((tmp_path / "ray" / "_SUCCESS").read_text())
    assert manifest["documents"] == len(rows) + 1 and manifest["failures"] == 4
    assert "failures" in on_ray.stderr and "tok/s" in on_ray.stderr


def test_worker_node_killed_mid_job_every_row_once(cluster, tmp_path: Path) -> None:
    rows = write_corpus(tmp_path / "in", 120, bad=False)
    want = batch(
        cluster.env, str(tmp_path / "in"), "--shard-rows", "3", "--output", str(tmp_path / "local")
    )
    assert want.returncode == 0, want.stderr
    out = tmp_path / "ray"
    log = (tmp_path / "job.log").open("wb")
    job = subprocess.Popen(
        [sys.executable, "-m", "nerve.cli.main", "batch", "--no-progress", str(tmp_path / "in"),
         "--shard-rows", "3", "--output", str(out), "--ray", cluster.address, "--workers", "2"],
        env=cluster.env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + JOB_SECONDS
        while not list(out.glob("part-*")) and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.poll() is None, "the job ended before a node could be killed"
        victim = cluster.nodes[-1]
        victim.kill()  # a worker node dies: its raylet and its engine actor with it
        cluster.nodes.remove(victim)
        cluster.add_worker()  # a node joins: the lost actor restarts there, its shard reruns
        assert job.wait(timeout=JOB_SECONDS) == 0, (tmp_path / "job.log").read_text()
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
        log.close()
    got = read_parts(out)
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in rows)  # every row once
    assert part_bytes(out) == part_bytes(tmp_path / "local")
    assert not [p for p in out.rglob(".*.tmp")]  # no half-written shard left behind


def test_gpus_per_worker_on_a_cluster_without_gpu_is_refused_before_work(
    cluster, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """docs/ray.md's GPU command: here, where the cluster has no GPU, a clear error."""
    import ray

    if ray.cluster_resources().get("GPU", 0) > 0:
        pytest.skip("this cluster has a GPU")
    write_corpus(tmp_path / "corpus", 4)
    [argv] = commands("With GPUs")
    done = run_doc_command(argv, tmp_path, {**cluster.env, "RAY_ADDRESS": cluster.address})
    assert done.returncode == 2
    assert "--gpus-per-worker 1: the Ray cluster has no GPU" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "tagged").exists()
