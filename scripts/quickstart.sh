#!/usr/bin/env bash
# One command from a fresh clone: install the base package (ONNX Runtime, no torch) into its
# own virtualenv and tag a sentence with the embedded default model. Offline apart from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${NERVE_QUICKSTART_VENV:-.venv-quickstart}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q .
"$VENV/bin/nerve" infer --format conll "Apple is looking at buying U.K. startup for \$1 billion"
echo "nerve is installed in $VENV: try  $VENV/bin/nerve infer \"your text\""
