"""Run one benchmark case in a process of its own and append its JSON row to a results file.

A process per (config, seed) keeps each run's peak memory its own and its torch state fresh.
The module is run with ``--single`` and the case's arguments, and must print its row as the
last line of its output. :func:`append_row` is how every benchmark adds a row to its JSON-lines
results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_isolated(module: str, arguments: list[str], results: Path) -> dict[str, Any]:
    """Run ``python -m module --single *arguments``; append and print its row; return it."""
    command = [sys.executable, "-m", module, "--single", *arguments]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed:\n{out.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    append_row(results, row)
    return row


def append_row(results: Path, row: dict[str, Any]) -> None:
    """Append ``row`` as one JSON line to ``results`` (its folder made if missing); print it."""
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)
