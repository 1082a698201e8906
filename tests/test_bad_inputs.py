"""The bad-input matrix: awkward tables and files through the Python API and the CLI.

Each kind of input gets a clear error (one line, exit code 2 on the CLI) or a documented
handling; inputs are never modified and nothing half-written is left behind. The matrix, with
the tests that already lived elsewhere, is the table in docs/reliability.md.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairsynth import DataError, ModelFileError, ParameterError, PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.io import write_table
from fairsynth.io.streaming import write_chunks
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.gantk import GANTKSynthesizer
from fairsynth.transform import ColumnHandlingWarning

runner = CliRunner()

TINY: dict[str, Any] = {
    "epochs": 1,
    "batch_size": 30,
    "generator_dims": (8,),
    "critic_dims": (8,),
    "noise_dim": 4,
    "verbose": False,
    "random_state": 0,
}
CLI_FAST = ["--epochs", "1", "--seed", "0", "--quiet"]
N = 60


def awkward_table() -> pd.DataFrame:
    """Sixty rows with one awkward column of each kind the matrix lists."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=N),
            "all missing": np.full(N, np.nan),
            "constant": ["same"] * N,
            "income": [">50K"] * N,  # a one-class target
            "huge": np.r_[1e308, -1e308, rng.normal(size=N - 2)],
            "mixed": pd.Series([1, "a", 2.5, None] * (N // 4), dtype=object),
            "flag": [True, False, False] * (N // 3),
            "when": pd.date_range("2020-01-01", periods=N, freq="7h"),
            "when_tz": pd.date_range("2020-01-01", periods=N, freq="D", tz="Europe/Paris"),
            " âge moyen ": rng.integers(18, 90, N),
            "名前": rng.choice(["李", "José", "Zoë"], N),
            "sex": pd.Series(["F", "M", None] * (N // 3), dtype=object),  # sensitive, missing
            "user_id": [f"u{i:04d}" for i in rng.permutation(N)],
        }
    )


@pytest.fixture(scope="module")
def awkward() -> dict[str, Any]:
    """One fit on the awkward table; the tests below each read one column of it."""
    table = awkward_table()
    before = table.copy(deep=True)
    with pytest.warns(ColumnHandlingWarning) as caught:
        model = PTGANSynthesizer(**TINY).fit(table)
    return {
        "table": table,
        "before": before,
        "model": model,
        "warnings": " ".join(str(w.message) for w in caught),
        "sample": model.sample(200, random_state=0),
    }


def cli_ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def cli_error(args: list[str], message: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0, result.output  # one line
    return result.output


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def awkward_cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The awkward table through the CLI: CSV in, fit, sample, CSV out."""
    folder = tmp_path_factory.mktemp("cli")
    csv = folder / "awkward.csv"
    awkward_table().to_csv(csv, index=False)
    before = csv.read_bytes()
    model, out = folder / "m.fairsynth", folder / "out.csv"
    with pytest.warns(ColumnHandlingWarning):
        cli_ok(["fit", str(csv), "-o", str(model), *CLI_FAST])
    cli_ok(["sample", str(model), "-n", "120", "-o", str(out), "--seed", "0"])
    assert csv.read_bytes() == before  # the input file is never touched
    return {"csv": csv, "out": pd.read_csv(out), "real": pd.read_csv(csv), "folder": folder}


# ------------------------------------------------------------------ shapes of the table


def test_empty_table_cli(tmp_path: Path) -> None:
    header_only, empty = tmp_path / "header.csv", tmp_path / "empty.csv"
    header_only.write_text("a,b\n")
    empty.write_text("")
    cli_error(["fit", str(header_only), "-o", str(tmp_path / "m")], "no data rows")
    cli_error(["fit", str(empty), "-o", str(tmp_path / "m")], "is empty")
    assert files_in(tmp_path) == ["empty.csv", "header.csv"]


def test_one_row_table_cli(tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("a,b\n1,x\n")
    cli_error(["fit", str(one), "-o", str(tmp_path / "m")], "1 row(s)")
    assert files_in(tmp_path) == ["one.csv"]


@pytest.mark.parametrize(
    "column",
    [np.random.default_rng(1).normal(size=N), ["a", "b", "c"] * (N // 3)],
    ids=["numeric", "discrete"],
)
def test_one_column_table(tmp_path: Path, column: Any) -> None:
    table = pd.DataFrame({"only": column})
    synth = PTGANSynthesizer(**TINY).fit(table).sample(50, random_state=0)
    assert list(synth.columns) == ["only"] and synth.dtypes.equals(table.dtypes)
    csv, model, out = tmp_path / "one.csv", tmp_path / "m.fairsynth", tmp_path / "o.csv"
    table.to_csv(csv, index=False)
    cli_ok(["fit", str(csv), "-o", str(model), *CLI_FAST])
    cli_ok(["sample", str(model), "-n", "50", "-o", str(out)])
    assert list(pd.read_csv(out).columns) == ["only"]


def test_table_smaller_than_a_batch_and_duplicate_index_labels() -> None:
    table = pd.DataFrame({"x": np.arange(10.0), "c": list("ab") * 5}, index=[7] * 10)
    synth = PTGANSynthesizer(**{**TINY, "batch_size": 500}).fit(table).sample(20, random_state=0)
    assert len(synth) == 20 and synth.index.is_unique


def test_only_unmodellable_columns_is_an_error(tmp_path: Path) -> None:
    table = pd.DataFrame({"gone": [np.nan] * 10, "same": [5] * 10})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnHandlingWarning)
        with pytest.raises(DataError, match="No column can be modelled"):
            PTGANSynthesizer(**TINY).fit(table)
        csv = tmp_path / "t.csv"
        table.to_csv(csv, index=False)
        cli_error(["fit", str(csv), "-o", str(tmp_path / "m")], "No column can be modelled")
    assert files_in(tmp_path) == ["t.csv"]


def test_wrong_input_types_are_errors() -> None:
    with pytest.raises(DataError, match="2-D table"):
        PTGANSynthesizer(**TINY).fit(np.zeros((4, 2, 2)))
    with pytest.raises(DataError, match="must be strings"):
        PTGANSynthesizer(**TINY).fit(pd.DataFrame({0: [1.0, 2.0], 1: [3.0, 4.0]}))
    with pytest.raises(DataError, match="Duplicate column names: 'a'"):
        PTGANSynthesizer(**TINY).fit(pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=["a", "a"]))


@pytest.mark.parametrize("seed", ["42", 1.5, object()])
def test_bad_seed_is_a_parameter_error(seed: object) -> None:
    with pytest.raises(ParameterError, match="random_state must be None, an int"):
        PTGANSynthesizer(**{**TINY, "random_state": seed}).fit(pd.DataFrame({"x": [1.0, 2.0]}))


def test_read_only_array_input_works_and_is_not_modified() -> None:
    array = np.random.default_rng(2).normal(size=(N, 2))
    array.setflags(write=False)
    copy = array.copy()
    model = PTGANSynthesizer(**TINY).fit(array)
    assert list(model.sample(5, random_state=0).columns) == ["x0", "x1"]
    assert np.array_equal(array, copy)


# ------------------------------------------------------------------ awkward columns (API)


def test_fit_does_not_modify_the_input_frame(awkward: dict[str, Any]) -> None:
    pd.testing.assert_frame_equal(awkward["table"], awkward["before"])


def test_all_missing_column_is_regenerated_missing(awkward: dict[str, Any]) -> None:
    assert "'all missing' is all missing" in awkward["warnings"]
    assert awkward["sample"]["all missing"].isna().all()


def test_constant_column_and_one_class_target_are_regenerated(awkward: dict[str, Any]) -> None:
    assert "'constant' is constant" in awkward["warnings"]
    assert (awkward["sample"]["constant"] == "same").all()
    assert (awkward["sample"]["income"] == ">50K").all()


def test_very_large_values_stay_finite_and_in_range(awkward: dict[str, Any]) -> None:
    huge = awkward["sample"]["huge"]
    assert np.isfinite(huge).all() and huge.abs().max() <= 1e308


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_values_are_an_error_naming_the_column(tmp_path: Path, bad: float) -> None:
    table = pd.DataFrame({"x": [1.0, bad, 2.0] * 10, "c": list("ab") * 15})
    with pytest.raises(DataError, match="'x' holds infinite values"):
        PTGANSynthesizer(**TINY).fit(table)
    csv = tmp_path / "inf.csv"
    table.to_csv(csv, index=False)
    cli_error(["fit", str(csv), "-o", str(tmp_path / "m")], "'x' holds infinite values")


def test_mixed_types_in_one_column_are_categories(awkward: dict[str, Any], tmp_path: Path) -> None:
    values = awkward["sample"]["mixed"]
    assert set(values.dropna()) <= {1, "a", 2.5}
    loaded = BaseSynthesizer.load(awkward["model"].save(tmp_path / "m.fairsynth"))
    pd.testing.assert_frame_equal(loaded.sample(200, random_state=0), awkward["sample"])


def test_mostly_numeric_text_column_names_the_values(tmp_path: Path) -> None:
    table = pd.DataFrame({"age": [str(i) for i in range(38)] + ["?", "n/a"], "g": list("ab") * 20})
    with pytest.raises(DataError, match=r"'age' looks numeric.*'\?'.*'n/a'"):
        PTGANSynthesizer(**TINY).fit(table)
    csv = tmp_path / "t.csv"
    table.to_csv(csv, index=False)
    cli_error(["fit", str(csv), "-o", str(tmp_path / "m")], "'age' looks numeric")
    cli_ok(["fit", str(csv), "-o", str(tmp_path / "m"), "-d", "age,g", *CLI_FAST])


def test_boolean_and_datetime_columns_keep_their_dtypes(awkward: dict[str, Any]) -> None:
    sample, table = awkward["sample"], awkward["table"]
    assert sample.dtypes.equals(table.dtypes)
    for column in ("when", "when_tz"):
        assert table[column].min() <= sample[column].min() <= sample[column].max()
        assert sample[column].max() <= table[column].max()
    assert set(sample["flag"]) <= {True, False}


def test_unicode_and_spaces_in_names_are_kept(awkward: dict[str, Any], tmp_path: Path) -> None:
    assert list(awkward["sample"].columns) == list(awkward["table"].columns)
    loaded = BaseSynthesizer.load(awkward["model"].save(tmp_path / "名前 model.fairsynth"))
    assert " âge moyen " in list(loaded.feature_names_in_)
    assert set(awkward["sample"]["名前"]) <= {"李", "José", "Zoë"}


def test_missing_values_in_the_sensitive_column_are_a_category(awkward: dict[str, Any]) -> None:
    assert awkward["model"].transformer_.categories("sex") == ["F", "M", None]
    assert set(awkward["sample"]["sex"].dropna()) <= {"F", "M"}
    assert awkward["sample"]["sex"].isna().any()


def test_text_id_column_is_regenerated_never_copied(awkward: dict[str, Any]) -> None:
    ids = awkward["sample"]["user_id"]
    assert ids.is_unique and not set(ids) & set(awkward["table"]["user_id"])


def test_ten_thousand_category_id_column() -> None:
    table = pd.DataFrame({"id": [f"c{i}" for i in range(10_000)], "c": list("ab") * 5_000})
    with pytest.warns(ColumnHandlingWarning, match="'id' is an ID column"):
        model = PTGANSynthesizer(**{**TINY, "batch_size": 5_000}).fit(table)
    assert model.transformer_.output_dim_ == 2  # the IDs take no output
    synth = model.sample(1_000, random_state=0)
    assert synth["id"].is_unique and not set(synth["id"]) & set(table["id"])


def test_thousands_of_categories_train_and_stream_in_bounded_chunks() -> None:
    table = pd.DataFrame({"cat": [f"k{i % 1_000}" for i in range(2_000)]})
    model = PTGANSynthesizer(**{**TINY, "batch_size": 1_000}).fit(table)
    width = model.transformer_.output_dim_
    assert width == 1_000
    sizes = [len(chunk) for chunk in model.iter_samples(20_000, random_state=0)]
    assert sum(sizes) == 20_000 and max(sizes) == 9 * 2**20 // width  # not the default 50,000


def test_n_too_large_for_memory_is_refused_before_it_is_drawn(
    awkward: dict[str, Any],
) -> None:
    with pytest.raises(ParameterError, match=r"n_samples=1,000,000,000,000 would need about"):
        awkward["model"].sample(10**12)
    with pytest.raises(ParameterError, match="n_samples must be at least 1"):
        awkward["model"].sample(-5)


# ------------------------------------------------------------------ awkward columns (CLI)


def test_cli_awkward_table_round_trip(awkward_cli: dict[str, Any]) -> None:
    out, real = awkward_cli["out"], awkward_cli["real"]
    assert list(out.columns) == list(real.columns)  # unicode and spaces in names kept
    assert out["all missing"].isna().all()
    assert (out["constant"] == "same").all() and (out["income"] == ">50K").all()
    assert out["flag"].dtype == bool
    assert set(out["sex"].dropna()) <= {"F", "M"}
    assert out["user_id"].is_unique and not set(out["user_id"]) & set(real["user_id"])


def test_cli_reads_iso_dates_as_datetimes(awkward_cli: dict[str, Any]) -> None:
    from fairsynth.io import read_table

    real = read_table(awkward_cli["csv"])
    assert str(real["when"].dtype) == "datetime64[ns]"
    assert str(real["when_tz"].dtype) == "datetime64[ns, UTC+01:00]"
    out = read_table(awkward_cli["folder"] / "out.csv")
    assert real["when"].min() <= out["when"].min() <= out["when"].max() <= real["when"].max()


def test_cli_datetime_through_parquet(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {"t": pd.date_range("2021-03-01", periods=N, freq="h", tz="UTC"), "c": list("ab") * 30}
    )
    source, model, out = tmp_path / "t.parquet", tmp_path / "m", tmp_path / "o.parquet"
    table.to_parquet(source)
    cli_ok(["fit", str(source), "-o", str(model), *CLI_FAST])
    cli_ok(["sample", str(model), "-n", "30", "-o", str(out)])
    assert pd.read_parquet(out)["t"].dtype == table["t"].dtype


def test_cli_csv_saved_with_its_index(tmp_path: Path) -> None:
    """``to_csv()``'s unnamed index column: listed as discrete it is an ID column, regenerated."""
    table = pd.DataFrame({"x": np.random.default_rng(3).normal(size=N), "c": list("ab") * 30})
    csv, model, out = tmp_path / "t.csv", tmp_path / "m", tmp_path / "o.csv"
    table.to_csv(csv)  # index=True
    with pytest.warns(ColumnHandlingWarning, match="'Unnamed: 0'"):
        cli_ok(["fit", str(csv), "-o", str(model), "-d", "Unnamed: 0,c", *CLI_FAST])
    cli_ok(["sample", str(model), "-n", "30", "-o", str(out)])
    assert pd.read_csv(out)["Unnamed: 0"].min() >= N


# ------------------------------------------------------------------ files and paths


def test_duplicate_column_names_in_a_csv(tmp_path: Path) -> None:
    csv = tmp_path / "dup.csv"
    csv.write_text("a,b,a\n1,2,3\n4,5,6\n")
    cli_error(["fit", str(csv), "-o", str(tmp_path / "m")], "repeats column names: 'a'")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("age income\n31 52000\n45 61000\n", "split into the same number of fields on spaces"),
        ("x,y\n1,2\n3,4,5\n", "Expected 2 fields in line 3, saw 3"),
    ],
    ids=["space-separated", "ragged-rows"],
)
def test_wrong_delimiter(tmp_path: Path, content: str, message: str) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text(content)
    cli_error(["fit", str(csv), "-o", str(tmp_path / "m")], message)


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_wrong_encoding(tmp_path: Path, encoding: str) -> None:
    csv = tmp_path / "t.csv"
    csv.write_bytes("name,x\ncafé,1\nthé,2\n".encode(encoding))
    cli_error(["fit", str(csv), "-o", str(tmp_path / "m")], "is not UTF-8 text")


def test_a_parquet_file_that_is_not_parquet(tmp_path: Path) -> None:
    fake = tmp_path / "t.parquet"
    fake.write_text("a,b\n1,2\n")
    cli_error(["fit", str(fake), "-o", str(tmp_path / "m")], "Cannot read Parquet file")


def test_a_directory_given_as_a_file(tmp_path: Path, awkward: dict[str, Any]) -> None:
    folder = tmp_path / "folder.fairsynth"
    folder.mkdir()
    with pytest.raises(ModelFileError, match="is a directory"):
        BaseSynthesizer.load(folder)
    with pytest.raises(DataError, match="is a directory"):
        awkward["model"].save(folder)
    cli_error(["sample", str(folder), "-n", "5", "-o", str(tmp_path / "o.csv")], "is a directory")
    model = awkward["model"].save(tmp_path / "m.fairsynth")
    cli_error(["sample", str(model), "-n", "5", "-o", str(folder)], "is a directory")
    assert files_in(tmp_path) == ["folder.fairsynth", "m.fairsynth"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_unwritable_output_path(tmp_path: Path, awkward: dict[str, Any]) -> None:
    model = awkward["model"].save(tmp_path / "m.fairsynth")
    # /proc/self refuses new files even to root
    with pytest.raises(DataError, match="not writable"):
        awkward["model"].save("/proc/self/m.fairsynth")
    cli_error(["sample", str(model), "-n", "5", "-o", "/proc/self/o.csv"], "not writable")
    a_file = tmp_path / "m.fairsynth"
    cli_error(["sample", str(model), "-n", "5", "-o", f"{a_file}/o.csv"], "is a file, not a folder")
    assert files_in(tmp_path) == ["m.fairsynth"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder(tmp_path: Path, awkward: dict[str, Any]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(DataError, match="not writable"):
            awkward["model"].save(locked / "m.fairsynth")
    finally:
        locked.chmod(0o700)


def test_wrong_class_for_the_model_file(tmp_path: Path, awkward: dict[str, Any]) -> None:
    model = awkward["model"].save(tmp_path / "m.fairsynth")
    with pytest.raises(ModelFileError, match=r"GANTKSynthesizer\.load cannot read"):
        GANTKSynthesizer.load(model)
    cli_error(["fit", str(model), "-o", str(tmp_path / "x")], "not UTF-8 text")


# ------------------------------------------------------------------ nothing half-written


def test_a_failing_stream_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    def chunks(fail: type[BaseException]) -> Any:
        yield pd.DataFrame({"a": [1, 2]})
        raise fail("stopped mid-way")

    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"out{suffix}"
        for failure in (RuntimeError, KeyboardInterrupt):
            with pytest.raises(failure):
                write_chunks(chunks(failure), out)
            assert files_in(tmp_path) == []
        write_table(pd.DataFrame({"kept": [1]}), out)
        with pytest.raises(RuntimeError):
            write_chunks(chunks(RuntimeError), out)
        assert files_in(tmp_path) == [out.name]
        out.unlink()


def test_a_failed_cli_fit_leaves_no_model_file(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    pd.DataFrame({"x": [1.0, np.inf] * 20}).to_csv(csv, index=False)
    before = csv.read_bytes()
    cli_error(["fit", str(csv), "-o", str(tmp_path / "m.fairsynth")], "infinite")
    assert files_in(tmp_path) == ["t.csv"] and csv.read_bytes() == before
