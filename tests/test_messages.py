"""Messages that say what is wrong (issue 19, findings 8 and 10), through the API and the CLI."""

from __future__ import annotations

import bz2
import gzip
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairsynth import DataError, ParameterError, PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.exceptions import format_choices
from fairsynth.io import read_table
from fairsynth.transform import TableTransformer

runner = CliRunner()
FAST = ["--epochs", "1", "--seed", "0", "--quiet"]


def cli_error(args: list[str], *expected: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output, result.output
    return result.output


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": np.linspace(0, 1, 60), "c": ["a", "b", "c"] * 20}).to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ finding 8


def test_a_negative_chunk_size_names_the_option(tmp_path: Path, small_csv: Path) -> None:
    args = [
        "sample",
        str(small_csv),
        "-n",
        "5",
        "-o",
        str(tmp_path / "o.csv"),
        "--chunk-size",
        "-5",
    ]
    output = cli_error(args, "--chunk-size must be an integer ≥ 1, got -5")
    assert "n_samples" not in output


def test_a_negative_seed_names_the_valid_range(tmp_path: Path, small_csv: Path) -> None:
    cli_error(["fit", str(small_csv), "-o", str(tmp_path / "m"), "--seed", "-1"],
              "--seed must be an integer from 0 to 4294967295, got -1")  # fmt: skip
    with pytest.raises(ParameterError, match=r"integer from 0 to 2\*\*32 - 1 .*got -1"):
        PTGANSynthesizer(epochs=1, random_state=-1).fit(pd.read_csv(small_csv))


def test_checkpoint_every_zero_names_the_option(tmp_path: Path, small_csv: Path) -> None:
    args = ["fit", str(small_csv), "-o", str(tmp_path / "m"), "--checkpoint-dir", str(tmp_path),
            "--checkpoint-every", "0"]  # fmt: skip
    cli_error(args, "--checkpoint-every must be an integer ≥ 1, got 0")


def test_numpy_values_are_shown_plainly() -> None:
    assert format_choices(np.array([0, 1])) == "0, 1"
    assert format_choices([np.str_("no"), np.float64(1.5), np.True_]) == "'no', 1.5, True"


@pytest.mark.parametrize("kind", ["gzip", "bz2", "zstd"])
def test_compressed_csv_files_are_read_as_they_are(tmp_path: Path, kind: str) -> None:
    text = b"a,b\n1,x\n2,y\n"
    path = tmp_path / f"t.csv.{kind}"
    if kind == "gzip":
        path.write_bytes(gzip.compress(text))
    elif kind == "bz2":
        path.write_bytes(bz2.compress(text))
    else:
        path.write_bytes(bytes.fromhex("28b52ffd") + b"\x00" * 20)  # a zstd frame's start
        if importlib.util.find_spec("zstandard") is None:
            with pytest.raises(DataError, match="zstd-compressed; reading it needs the zstandard"):
                read_table(path)
            return
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(text))
    frame = read_table(path)
    assert frame["a"].tolist() == [1, 2] and frame["b"].tolist() == ["x", "y"]


def test_a_damaged_gzip_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    rows = "".join(f"{i},{i * i}\n" for i in range(10_000)).encode()
    path.write_bytes(gzip.compress(b"a,b\n" + rows)[:2000])
    with pytest.raises(DataError, match=r"t\.csv\.gz"):
        read_table(path)


# ------------------------------------------------------------------ finding 10


def test_discrete_adds_to_inference(tmp_path: Path) -> None:
    table = pd.DataFrame({"age": [20, 30, 40] * 20, "sex": ["F", "M", "F"] * 20,
                          "job": ["a", "b", "c"] * 20})  # fmt: skip
    tt = TableTransformer(discrete_columns=["age"]).fit(table)
    assert tt.discrete_columns_ == ["age", "sex", "job"]
    csv = tmp_path / "t.csv"
    table.to_csv(csv, index=False)
    result = runner.invoke(app, ["fit", str(csv), "-o", str(tmp_path / "m"), "-d", "age", *FAST])
    assert result.exit_code == 0, result.output


def test_one_error_lists_every_column_that_needs_a_decision(tmp_path: Path) -> None:
    numbers = [str(i % 10) for i in range(38)]
    table = pd.DataFrame({"age": [*numbers, "?", "n/a"], "hours": [*numbers, "-", "?"],
                          "sex": ["F", "M"] * 20})  # fmt: skip
    with pytest.raises(
        DataError, match=r"2 columns need a decision: Column 'age'.*; Column 'hours'"
    ):
        TableTransformer().fit(table)
    csv = tmp_path / "t.csv"
    table.to_csv(csv, index=False)
    cli_error(["fit", str(csv), "-o", str(tmp_path / "m"), *FAST], "'age' looks", "'hours' looks")
    result = runner.invoke(app, ["fit", str(csv), "-o", str(tmp_path / "m"), "-d", "age,hours",
                                 *FAST])  # fmt: skip
    assert result.exit_code == 0, result.output
