"""``fairsynth evaluate`` on the wide table at 200,000 rows: wall time and peak memory.

Writes the scale issue's wide table (benchmarks/widetable.py: 42 columns, 29 categorical)
with ``--rows`` training rows, half as many test rows and a stand-in synthetic table of as many
rows (the same generator with every third column shuffled: what the evaluation costs does not
depend on where the rows came from), then runs the CLI once on them, as a user would, in a
process of its own, and records its wall time and peak resident memory (``ru_maxrss`` of the
child, which counts every library's buffers). The report's own notes say which statistics
were computed on a subsample.

Appends one JSON line to benchmarks/results/evaluate_scale.jsonl. Run it alone on the machine::

    python -m benchmarks.evaluate_scale --rows 199523 --threads 1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "evaluate_scale.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=199_523)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from benchmarks.widetable import write_tables

    with tempfile.TemporaryDirectory() as folder:
        paths = write_tables(Path(folder), args.rows)
        report = Path(folder) / "report.json"
        command = [
            sys.executable, "-m", "fairsynth", "evaluate",
            "--real", str(paths["train"]), "--synthetic", str(paths["synthetic"]),
            "--test", str(paths["test"]), "-t", "income", "-p", ">50K", "-s", "sex",
            "--threads", str(args.threads), "-o", str(report),
        ]  # fmt: skip
        started = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if out.returncode != 0:
            sys.exit(out.stderr[-3000:])
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        notes = json.loads(report.read_text())["tables"].get("notes", {}).get("data", [])
    append_row(RESULTS, {
        "rows": args.rows, "test_rows": args.rows // 2, "columns": 42, "threads": args.threads,
        "seconds": round(seconds, 1), "peak_mb": round(peak_mb), "notes": notes,
        "stderr_tail": out.stderr.strip().splitlines()[-12:],
        "time": time.strftime("%Y-%m-%d %H:%M"),
    })  # fmt: skip


if __name__ == "__main__":
    main()
