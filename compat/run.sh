#!/usr/bin/env bash
# Everything `make compat` needs: venv, fixtures, self-consistency tests.
#   bash compat/run.sh            # setup + regenerate testdata/hf + pytest
#   bash compat/run.sh --check    # setup + pytest only (don't rewrite fixtures)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/setup.sh"
if [[ "${1:-}" != "--check" ]]; then
  "$HERE/.venv/bin/python" "$HERE/make_fixtures.py"
  "$HERE/.venv/bin/python" "$HERE/make_tokenizer_fixtures.py"
  "$HERE/.venv/bin/python" "$HERE/make_grpo_fixtures.py"
fi
"$HERE/.venv/bin/python" -m pytest -q "$HERE/test_fixtures.py" "$HERE/test_tokenizer.py" "$HERE/test_grpo.py" "$HERE/test_server_clients.py"
