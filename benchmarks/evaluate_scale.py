"""``fairsynth evaluate`` on the wide table at 200,000 rows: wall time and peak memory.

Writes the scale issue's wide table (benchmarks/widetable.py: 42 columns, 29 categorical)
with ``--rows`` training rows, half as many test rows and a stand-in synthetic table of as many
rows (the same generator with every third column shuffled: what the evaluation costs does not
depend on where the rows came from), then runs the CLI once on them, as a user would, in a
process of its own, and records its wall time and peak resident memory: ``peak_mb`` the
largest sum over the CLI and its worker processes (the per-column detection models run in
``--threads`` of them), sampled every 0.2 s from /proc, and at least ``peak_mb_largest``, the
largest single process (``ru_maxrss``). The report's own notes say which statistics were
computed on a subsample.

Appends one JSON line to benchmarks/results/evaluate_scale.jsonl. Run it alone on the machine::

    python -m benchmarks.evaluate_scale --rows 199523 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "evaluate_scale.jsonl"


_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB (0 once it has exited)."""
    total, stack = 0.0, [pid]
    while stack:
        proc = stack.pop()
        try:
            with open(f"/proc/{proc}/statm") as handle:
                total += int(handle.read().split()[1]) * _PAGE_MB
            for task in os.listdir(f"/proc/{proc}/task"):
                with open(f"/proc/{proc}/task/{task}/children") as handle:
                    stack += [int(child) for child in handle.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_sampled(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``command``; return it, its wall seconds and the peak of :func:`tree_rss_mb`."""
    peak = [0.0]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def watch() -> None:
        while child.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(child.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - started
    watcher.join()
    done = subprocess.CompletedProcess(command, child.returncode, stdout, stderr)
    return done, seconds, peak[0]


def _timeline(line: str) -> bool:
    """Progress lines worth keeping: all but the per-column ones after the first."""
    return line.startswith("evaluate") and (
        "detection by column" not in line or line.endswith("column: age")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=199_523)
    parser.add_argument("--threads", type=int, default=2)
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
        out, seconds, peak_mb = run_sampled(command)
        if out.returncode != 0:
            sys.exit(out.stderr[-3000:])
        largest_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        notes = json.loads(report.read_text())["tables"].get("notes", {}).get("data", [])
    append_row(RESULTS, {
        "rows": args.rows, "test_rows": args.rows // 2, "columns": 42, "threads": args.threads,
        "seconds": round(seconds, 1), "peak_mb": round(max(peak_mb, largest_mb)),
        "peak_mb_largest": round(largest_mb), "notes": notes,
        "progress": [line for line in out.stderr.splitlines() if _timeline(line)],
        "time": time.strftime("%Y-%m-%d %H:%M"),
    })  # fmt: skip


if __name__ == "__main__":
    main()
