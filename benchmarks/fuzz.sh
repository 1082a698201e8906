#!/usr/bin/env bash
# The long fuzz run of the two readers of untrusted bytes (CSV tables, model files):
# tests/test_fuzz.py with a larger budget. Usage: bash benchmarks/fuzz.sh [examples, default 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
FAIRSYNTH_FUZZ_EXAMPLES="${1:-20000}" OMP_NUM_THREADS=1 \
    .venv/bin/python -m pytest -p no:cacheprovider tests/test_fuzz.py -q
