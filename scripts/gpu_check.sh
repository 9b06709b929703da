#!/usr/bin/env bash
# One command for a GPU slot (issue #15): install what nerve lacks there from carried wheels,
# run the CUDA tests, the offline GPU benchmark with the transformers pipeline on the GPU as
# the in-run peer, the server under load on the GPU, and half precision vs CPU float32 on the
# CoNLL-2003 test sentences. Writes $OUT_DIR/gpu_check.json (every step's status, seconds and
# figures) and $OUT_DIR/gpu_check.log (everything printed).
#
#   scripts/gpu_check.sh [--device cuda|cpu] [--tiny] [--out DIR]
#
# --device cpu --tiny is the rehearsal: the same steps on the CPU with small sizes, run by
# tests/bench/test_gpu_check.py, so the script is known to work before a GPU slot is spent.
# On the GPU machine (see docs/gpu.md for the carry list):
#
#   scripts/gpu_check.sh --out "$OUT"
#
# Each step has its own time limit and a failed step does not stop the others: the slot is
# short (15 minutes with the machine's start), and a partial result is worth keeping.
set -uo pipefail

DEVICE=cuda
TINY=0
OUT_DIR=${OUT:-gpu-check-out}
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --tiny) TINY=1; shift ;;
    --out) OUT_DIR=$2; shift 2 ;;
    *) echo "gpu_check.sh: unknown argument $1 (use --device, --tiny, --out)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
LOG=$OUT_DIR/gpu_check.log
STEPS=$OUT_DIR/steps.jsonl
: >"$LOG"
: >"$STEPS"
exec > >(tee -a "$LOG") 2>&1
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1

# The machine has PyTorch, transformers, onnxruntime and tokenizers; nerve's other needs
# travel as wheels in .whl (docs/gpu.md). nerve itself runs from this tree.
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/nerve-site .whl/*.whl || { echo "gpu_check: wheel install failed"; exit 1; }
  export PYTHONPATH=/tmp/nerve-site:$ROOT/src:$ROOT/tests
else
  export PYTHONPATH=$ROOT/src:$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}
fi
# CoNLL-2003: carried in .gpu-data/conll2003 (git-ignored, never committed), else the usual.
if [ -d .gpu-data/conll2003 ]; then
  export NERVE_CONLL_DIR=$ROOT/.gpu-data/conll2003
fi
export NERVE_CONLL_DIR=${NERVE_CONLL_DIR:-$ROOT/../shared/data/conll2003}

if [ "$TINY" = 1 ]; then
  SHAPE=minilm; LIMIT=64; REPEATS=1; SECONDS_LOAD=3; AGREE_LIMIT=64; TEST_K="packed or cuda"
else
  SHAPE=bert-base; LIMIT=0; REPEATS=3; SECONDS_LOAD=15; AGREE_LIMIT=0; TEST_K="cuda or packed"
fi
if [ "$DEVICE" = cpu ]; then DTYPE=float32; else DTYPE=float16; fi
# Host worker processes for the nerve.hostpool rows: all cores but two (the model's process
# and the load of everything else), at most 8, at least 1.
CORES=$(nproc)
HOST_WORKERS=$((CORES > 10 ? 8 : (CORES > 3 ? CORES - 2 : 1)))
[ "$TINY" = 1 ] && HOST_WORKERS=2
# Python load clients in several processes: one process's clients are bounded by its GIL
# (about 4,500 requests/s on 2 EPYC cores), below what a GPU server may answer.
CLIENT_PROCS=$((CORES >= 16 ? 4 : (CORES >= 8 ? 2 : 1)))
[ "$TINY" = 1 ] && CLIENT_PROCS=2

# step NAME SECONDS COMMAND...: run with a time limit, record status and seconds.
step() {
  local name=$1 limit=$2; shift 2
  # The limits fit the GPU slot's 8 minutes. The CPU rehearsal runs the same steps on a
  # small, maybe shared machine (CI): it gets three times as long, so load there is no failure.
  if [ "$DEVICE" = cpu ]; then limit=$((limit * 3)); fi
  echo "=== $name ($(date -u +%H:%M:%S), limit ${limit}s): $*"
  local started rc took_ms
  started=$(date +%s%N)
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  took_ms=$((($(date +%s%N) - started) / 1000000))
  echo "=== $name: exit $rc after ${took_ms} ms"
  printf '{"step": "%s", "exit": %d, "milliseconds": %d}\n' "$name" "$rc" "$took_ms" >>"$STEPS"
}

step device 60 $PY - <<EOF
import json, os, platform, subprocess
import torch
info = {"python": platform.python_version(), "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(), "device": "$DEVICE"}
if torch.cuda.is_available():
    info["gpu"] = torch.cuda.get_device_name(0)
try:
    info["cpu"] = [l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"],
        capture_output=True, text=True).stdout.splitlines() if l.startswith("Model name")][0]
except Exception:
    info["cpu"] = platform.processor()
info["cores"] = len(os.sched_getaffinity(0))
print(json.dumps(info))
open("$OUT_DIR/device.json", "w").write(json.dumps(info, indent=2))
EOF

# CUDA tests (skip cleanly without a GPU) and the packed == padded tests.
step tests 240 $PY -m pytest -q -p no:cacheprovider -k "$TEST_K" \
  tests/unit/test_packed.py tests/unit/test_batch_pool.py tests/unit/test_engine_behaviour.py \
  tests/unit/test_families_deberta_modernbert.py tests/unit/test_cuda_graphs.py \
  tests/unit/test_packed_launch.py

# Offline: text in → entities out, nerve vs the transformers pipeline on the same device.
BENCH_ARGS=(--device "$DEVICE" --shape "$SHAPE" --workloads short,long --repeats "$REPEATS"
  --json)
[ "$LIMIT" != 0 ] && BENCH_ARGS+=(--limit "$LIMIT")
# Half precision on the GPU, for nerve and the pipeline peer alike (the CPU runs keep each
# backend's own precision: ONNX's is fixed by its file).
PRECISION=()
[ "$DEVICE" != cpu ] && PRECISION=(--dtype "$DTYPE")
BENCH_ARGS+=("${PRECISION[@]}")
step bench 300 bash -c "$PY -m nerve.cli.main bench ${BENCH_ARGS[*]} --peers pipeline \
  > '$OUT_DIR/bench.json'"
# The same with tokenizing and decoding in host worker processes (nerve.hostpool), in a step
# of its own so that a slow pool cannot cost the figures above: nerve and nerve-hostN.
step bench_pool 240 bash -c "$PY -m nerve.cli.main bench ${BENCH_ARGS[*]} --peers none \
  --host-workers $HOST_WORKERS > '$OUT_DIR/bench_pool.json'"

# The host's ceiling: the same engine and workloads with a model that costs nothing, on this
# machine's CPU, in one process and with the host workers. No GPU takes the offline figures
# above past these.
HOST=(--repeats "$REPEATS")
[ "$LIMIT" != 0 ] && HOST+=(--limit "$LIMIT")
step host 120 $PY scripts/host_ceiling.py "${HOST[@]}" --json "$OUT_DIR/host.json"
step host_pool 120 $PY scripts/host_ceiling.py "${HOST[@]}" --host-workers "$HOST_WORKERS" \
  --json "$OUT_DIR/host_pool.json"

# The server's ceiling on this machine's CPU: nerve's server with the stand-in model (the
# accelerator's path), 1 and 64 clients. No GPU takes the server figures below past these.
step server_host $((2 * SECONDS_LOAD + 90)) $PY scripts/server_ceiling.py --seconds "$SECONDS_LOAD" \
  --load-generator python --client-processes "$CLIENT_PROCS" --json "$OUT_DIR/server_host.json"

# Server: one sentence per request, 1 client (latency) and 64 clients (throughput).
for clients in 1 64; do
  procs=$((clients > 1 ? CLIENT_PROCS : 1))
  step "server_$clients" $((SECONDS_LOAD + 150)) bash -c "$PY -m nerve.cli.main bench \
    --server-load --device $DEVICE ${PRECISION[*]} --clients $clients --seconds $SECONDS_LOAD \
    --client-processes $procs --json > '$OUT_DIR/server_$clients.json'"
done
# The same 1-client latency with the CUDA graphs of small batches off (they are on by default
# in half precision on CUDA; nerve.backends.cuda_graphs): what recording them gives.
step server_1_eager $((SECONDS_LOAD + 150)) bash -c "$PY -m nerve.cli.main bench \
  --server-load --device $DEVICE ${PRECISION[*]} --clients 1 --seconds $SECONDS_LOAD \
  --server-args='--cuda-graphs off' --json > '$OUT_DIR/server_1_eager.json'"

# Half precision on the GPU vs float32 on the CPU, default model, CoNLL test sentences.
AGREE=(--device "$DEVICE" --dtype "$DTYPE" --json "$OUT_DIR/agreement.json")
[ "$AGREE_LIMIT" != 0 ] && AGREE+=(--limit "$AGREE_LIMIT")
step agreement 240 $PY scripts/gpu_agreement.py "${AGREE[@]}"

# One JSON of everything.
$PY - <<EOF
import json, pathlib
out = pathlib.Path("$OUT_DIR")
summary = {"steps": [json.loads(l) for l in (out / "steps.jsonl").read_text().splitlines()]}
for name in ("device", "bench", "bench_pool", "host", "host_pool", "server_host", "server_1",
             "server_64", "server_1_eager", "agreement"):
    f = out / f"{name}.json"
    try:
        summary[name] = json.loads(f.read_text())
    except (OSError, ValueError) as exc:
        summary[name] = {"missing": str(exc)}
(out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
failed = [s["step"] for s in summary["steps"] if s["exit"] != 0]
print("gpu_check:", "all steps passed" if not failed else f"failed steps: {failed}")
EOF
