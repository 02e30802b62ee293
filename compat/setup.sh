#!/usr/bin/env bash
# Create compat/.venv and install compat/requirements.txt into it.
# Idempotent: re-running with an unchanged requirements.txt and an intact venv
# does nothing (a stamp file records the hash of the installed requirements).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
REQ="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
   && "$VENV/bin/python" -c 'import torch, transformers, safetensors, numpy, pytest, trl, openai, ollama' 2>/dev/null; then
  echo "compat/setup.sh: $VENV is up to date"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "compat/setup.sh: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --disable-pip-version-check -r "$REQ"
"$VENV/bin/python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
echo "$want" > "$STAMP"
echo "compat/setup.sh: done"
