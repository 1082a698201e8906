"""Where outputs go (issue 19): devices, FIFOs, links and stdout; modes; one writer at a time."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_MODEL
from typer.testing import CliRunner

from fairsynth import DataError, PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.frontier import plot_frontier
from fairsynth.io import write_table
from fairsynth.io.output import LeftoverWarning, atomic_output, temporary_path
from fairsynth.io.streaming import write_chunks

runner = CliRunner()


def sample(model: Path, out: str | Path, n: int = 50, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sample", str(model), "-n", str(n), "-o", str(out), *extra])
    return result.exit_code, f"{result.output}{result.exception!r}"


# ------------------------------------------------------------------ finding 1


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_a_character_device_is_written_through_never_replaced(
    tmp_path: Path, model_file: Path
) -> None:
    fake_null = tmp_path / "fakenull"
    os.mknod(fake_null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    code, output = sample(model_file, fake_null)
    assert code == 0, output
    assert stat.S_ISCHR(fake_null.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fakenull"]


def test_dev_null_stays_a_device(model_file: Path) -> None:
    code, output = sample(model_file, "/dev/null")
    assert code == 0, output
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_a_fifo_is_written_through(tmp_path: Path, model_file: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        code, output = sample(model_file, fifo, 40)
        assert code == 0, output
        text, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert len(text.decode().splitlines()) == 41  # header and 40 rows


def test_a_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_table(pd.DataFrame({"a": [1, 2]}), link)
    assert link.is_symlink() and pd.read_csv(real)["a"].tolist() == [1, 2]


def test_dash_is_standard_output(model_file: Path) -> None:
    result = runner.invoke(app, ["sample", str(model_file), "-n", "30", "-o", "-", "--seed", "0"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "x,c" and len(lines) == 31  # the rows only: "Wrote ..." is on stderr
    assert "Wrote 30 rows" in result.stderr
    assert not Path("-").exists()


# ------------------------------------------------------------------ finding 7


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})
    previous = os.umask(0o022)
    try:
        fresh = write_table(frame, tmp_path / "new.csv")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        os.umask(0o077)
        kept = tmp_path / "kept.csv"
        kept.write_text("old\n")
        kept.chmod(0o640)
        write_table(frame, kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(previous)


# ------------------------------------------------------------------ finding 9 and 5


@pytest.mark.parametrize("name", ["out.xlsx", "out", "out.json"])
def test_unknown_table_suffixes_are_refused(tmp_path: Path, model_file: Path, name: str) -> None:
    code, output = sample(model_file, tmp_path / name)
    assert code == 2 and ".csv or .parquet" in output and "Traceback" not in output
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize(("name", "shown"), [("x.txt", "'.txt'"), ("x", "'(none)'")])
def test_frontier_checks_the_picture_name_before_the_sweep(
    tmp_path: Path, name: str, shown: str
) -> None:
    args = ["frontier", str(tmp_path / "no-model.fairsynth"), "--test", str(tmp_path / "t.csv"),
            "-o", str(tmp_path / name), "--table", str(tmp_path / "rows.csv")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"has suffix {shown}; valid:" in result.output and ".png" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing loaded, nothing written


def test_the_frontier_picture_goes_through_the_atomic_writer(tmp_path: Path) -> None:
    rows = pd.DataFrame({"attribute": "sex", "by": "sex", "sensitive_feature": "included",
                         "source": "FairPTGAN", "model": "LogReg", "fairness": [0.0, 1.0],
                         "auc": [0.8, 0.7], "dp": [0.2, 0.05], "eo": [0.1, 0.05],
                         "dp_at_rate": [0.2, 0.1]})  # fmt: skip
    out = tmp_path / "f.png"
    with atomic_output(out) as held:  # another writer holds the output: the picture waits
        held.write_bytes(b"first")
        with pytest.raises(DataError, match="Another process is writing"):
            plot_frontier(rows, out)
    assert out.read_bytes() == b"first"
    plot_frontier(rows, out)
    assert out.read_bytes().startswith(b"\x89PNG")


# ------------------------------------------------------------------ finding 2


def test_a_leftover_temporary_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    leftover = temporary_path(out)
    leftover.write_bytes(b"a\n1\n2\n" * 1000)  # what a SIGKILL mid-write leaves
    with pytest.warns(LeftoverWarning, match="partial output left by a process"):
        write_table(pd.DataFrame({"a": [7]}), out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert pd.read_csv(out)["a"].tolist() == [7]


def test_huge_n_is_refused_from_a_size_estimate(tmp_path: Path, model_file: Path) -> None:
    out = tmp_path / "big.csv"
    code, output = sample(model_file, out, 10**12)
    assert code == 2, output
    assert "-n 1,000,000,000,000 rows would write about" in output and "--max-bytes" in output
    code, output = sample(model_file, out, 5000, "--max-bytes", "10kB", "--chunk-size", "100")
    assert code == 2 and "more than the limit of 10.0 kB" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    code, output = sample(model_file, out, 5000, "--max-bytes", "none", "--chunk-size", "100")
    assert code == 0 and len(pd.read_csv(out)) == 5000


def test_progress_is_plain_lines_off_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fairsynth.cli._support import RowProgress
    from fairsynth.models.callbacks import ProgressBar

    data = pd.DataFrame({"x": np.linspace(0, 1, 100)})
    PTGANSynthesizer(
        **{**TINY_MODEL, "epochs": 3, "callbacks": [ProgressBar(every_seconds=0)]}
    ).fit(data)
    progress = RowProgress(300, every_seconds=0)
    write_chunks((pd.DataFrame({"a": range(100)}) for _ in range(3)), tmp_path / "o.csv",
                 progress=progress)  # fmt: skip
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "Fitting PTGANSynthesizer: epoch 3/3" in err.splitlines()[2]
    assert "Sampled 200 of 300 rows (67%" in err


# ------------------------------------------------------------------ two writers


_WRITER = """
import sys, time, pandas as pd
from pathlib import Path
from fairsynth.io.streaming import write_chunks
out, ready, go, value = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
def chunks():
    yield pd.DataFrame({"who": [value] * 1000})
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    yield pd.DataFrame({"who": [value] * 1000})
try:
    write_chunks(chunks(), out)
except Exception as exc:
    print(type(exc).__name__, exc, file=sys.stderr)
    sys.exit(2)
"""


def test_two_processes_writing_one_output_one_wins_whole_the_other_fails(tmp_path: Path) -> None:
    out, ready, go = tmp_path / "out.csv", tmp_path / "ready", tmp_path / "go"
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(_WRITER))

    def start(value: int) -> subprocess.Popen[str]:
        command = [sys.executable, str(script), str(out), str(ready), str(go), str(value)]
        return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)

    first = start(1)
    deadline = time.monotonic() + 120
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = start(2)  # starts while the first is half-way through writing
    _, err = second.communicate(timeout=120)
    go.touch()
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode == 2 and "DataError Another process is writing" in err
    assert pd.read_csv(out)["who"].tolist() == [1] * 2000  # whole, and the first's only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "out.csv", "ready", "writer.py"]
