#!/usr/bin/env bash
# Create (or reuse) .venv in the project root and install fairsynth with its test tools.
# torch is pinned by constraints.txt to the CPU build that lies on these machines; on a machine
# with a GPU, install the torch build you want into .venv first and set FAIRSYNTH_CONSTRAINTS=none.
set -euo pipefail
cd "$(dirname "$0")/.."
python_bin="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $("$python_bin" --version)"
    "$python_bin" -m venv .venv
fi
constraints=(-c constraints.txt)
if [ "${FAIRSYNTH_CONSTRAINTS:-}" = "none" ]; then constraints=(); fi
echo "[setup] installing fairsynth and its dependencies into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${constraints[@]}" -e ".[dev]"
.venv/bin/python -c "import fairsynth, torch; print(f'[setup] fairsynth {fairsynth.__version__}, torch {torch.__version__}')"
