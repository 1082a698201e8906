#!/usr/bin/env bash
# One command: set everything up, then run the linters, the type checker and the test suite.
# Extra arguments go to pytest (e.g. -m slow for the long tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] ruff"
.venv/bin/ruff check fairsynth tests benchmarks
.venv/bin/ruff format --check fairsynth tests benchmarks
echo "[test] mypy"
.venv/bin/mypy
echo "[test] pytest"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
