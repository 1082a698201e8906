#!/usr/bin/env bash
# One command: set everything up, then fit PTGAN on the bundled Adult table and compare.
# Extra arguments go to `fairsynth demo` (e.g. --time-budget 60).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/fairsynth demo "$@"
