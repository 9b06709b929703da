"""Side-by-side throughput of ``nerve batch``: local engine vs ``--ray`` with 1 and 2 workers.

Starts its own Ray cluster on this machine (a head with no CPU and N one-CPU worker nodes,
the test suite's ``LocalCluster``), builds a corpus of CoNLL-2003 test documents, runs each
configuration ``--repeats`` times interleaved, and prints the job time of each run (from
``_SUCCESS``: planning and Ray connection excluded, actor start and model loads included)
and the ratios. Usage:

    python scripts/bench_ray_batch.py --conll ../shared/data/conll2003 --copies 10 \
        --shard-rows 2000 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.ray_cluster import LocalCluster, cluster_env  # noqa: E402


def conll_documents(conll_dir: Path, sentences_per_doc: int) -> list[str]:
    sentences, words = [], []
    for line in (conll_dir / "eng.testb").read_text(encoding="utf-8").splitlines():
        if line.strip():
            words.append(line.split()[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    if words:
        sentences.append(" ".join(words))
    return [
        " ".join(sentences[i : i + sentences_per_doc])
        for i in range(0, len(sentences), sentences_per_doc)
    ]


def run(
    env: dict[str, str], corpus: Path, out: Path, shard_rows: int, *extra: str
) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "batch", "--no-progress", str(corpus),
         "-o", str(out), "--shard-rows", str(shard_rows), *extra],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    manifest = json.loads((out / "_SUCCESS").read_text())
    return {"job_s": manifest["seconds"], "wall_s": wall, "tokens": manifest["tokens"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--conll", type=Path, default=Path(os.environ.get("NERVE_CONLL_DIR", "")))
    p.add_argument("--sentences-per-doc", type=int, default=1)
    p.add_argument("--shard-rows", type=int, default=250)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument(
        "--copies",
        type=int,
        default=1,
        help="repeat the corpus (distinct ids) so that compute, not actor start, dominates",
    )
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="nerve-ray-bench-"))
    corpus = root / "corpus.jsonl"
    docs = conll_documents(args.conll, args.sentences_per_doc) * max(1, args.copies)
    corpus.write_text("".join(json.dumps({"id": i, "text": d}) + "\n" for i, d in enumerate(docs)))
    cluster = LocalCluster(root / "c", cluster_env(ROOT / "tests", ROOT / "src"))
    (root / "c").mkdir()
    os.environ.update({k: cluster.env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")})
    configs = {
        "local (2 cores)": [],
        "ray, 1 worker": ["--ray", "auto", "--workers", "1"],
        "ray, 2 workers": ["--ray", "auto", "--workers", "2"],
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    try:
        cluster.start_head()
        cluster.add_worker()
        cluster.add_worker()
        env = {**cluster.env, "RAY_ADDRESS": cluster.address}
        for _ in range(args.repeats):
            for name, extra in configs.items():
                with open("/proc/loadavg") as fh:
                    load = fh.read().split()[0]
                r = run(env, corpus, root / "out", args.shard_rows, *extra)
                r["load"] = float(load)
                results[name].append(r)
                rate = r["tokens"] / r["job_s"]
                print(f"{name}: job {r['job_s']:.1f} s, wall {r['wall_s']:.1f} s, "
                      f"{rate:,.0f} tok/s, load {load}", flush=True)  # fmt: skip
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    best = {n: min(r["job_s"] for r in rs) for n, rs in results.items()}
    tokens = results["local (2 cores)"][0]["tokens"]
    print(f"\n{len(docs)} documents, {tokens} tokens; best job time of {args.repeats}:")
    for name, seconds in best.items():
        print(f"  {name}: {seconds:.1f} s, {tokens / seconds:,.0f} tok/s, "
              f"{len(docs) / seconds * 3600:,.0f} docs/hour")  # fmt: skip
    print(f"  2 workers / 1 worker: {best['ray, 1 worker'] / best['ray, 2 workers']:.2f}x")
    print(f"  ray 2 workers / local: {best['local (2 cores)'] / best['ray, 2 workers']:.2f}x")
    print(f"  median load average during runs: "
          f"{statistics.median(r['load'] for rs in results.values() for r in rs):.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
