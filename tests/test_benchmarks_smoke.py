"""CI smoke test of the benchmark suite: the real runner, summary and ring probes, tiny settings.

Only fairsynth's own synthesizers run here (the bench extra is not installed in CI).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

# benchmarks/ is not a shipped package: make the repository root importable under plain
# `pytest` too (`python -m pytest` already has it on the path).
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.fair_knob_draws import Refiner, scale_noise  # noqa: E402
from benchmarks.fair_knob_draws import main as knob_draws  # noqa: E402
from benchmarks.fair_resampling import resample, score, swapped_tables  # noqa: E402
from benchmarks.registry import (  # noqa: E402
    SYNTHESIZERS,
    MissingPackageError,
    _import,
    build,
)
from benchmarks.ring_variance import ProbedPTGAN, variance_study  # noqa: E402
from benchmarks.run import METRIC_COLUMNS, load_runs, run_grid  # noqa: E402
from benchmarks.summary import summarize  # noqa: E402

TINY = {"ptgan": {"epochs": 2}, "wgan-gp": {"epochs": 2}}
QUICK = {"reference": False}


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bench")
    table = run_grid(
        ["german"], ["ptgan", "wgan-gp"], [0], out=out, params=TINY, evaluation=QUICK,
        timeout=300, threads=1, command="pytest smoke",
    )  # fmt: skip
    return out, table


def test_grid_writes_tidy_rows_with_sdgym_names(grid) -> None:
    out, table = grid
    assert list(table.columns) == METRIC_COLUMNS
    assert set(table.Synthesizer) == {"ptgan", "wgan-gp"}
    assert not table.duplicated(["Dataset", "Synthesizer", "Seed", "Metric"]).any()
    wide = table.pivot_table(index="Synthesizer", columns="Metric", values="Value")
    for metric in ("Train_Time", "Sample_Time", "Peak_Memory_MB", "Quality_Score", "HistGB_AUC"):
        assert metric in wide.columns
    assert (wide.Train_Time > 0).all() and (wide.Peak_Memory_MB > 50).all()
    assert wide.Quality_Score.between(0, 1).all() and wide.HistGB_AUC.between(0, 1).all()
    assert wide.HistGB_DP_sex.between(0, 1).all()
    assert pd.read_csv(out / "results.csv").shape == table.shape


def test_runs_record_versions_machine_and_steps(grid) -> None:
    out, _ = grid
    runs = load_runs(out)
    record = runs[("german", "ptgan", 0)]
    assert record["status"] == "ok" and record["params"] == {"epochs": 2}
    assert record["versions"]["torch"] == torch.__version__
    assert record["machine"]["threads"] == 1 and record["command"] == "pytest smoke"
    assert record["details"]["steps"] == 2  # 700 rows, batch 500: one step an epoch


def test_grid_resumes_and_refuses_other_parameters(grid) -> None:
    out, _ = grid
    lines = (out / "runs.jsonl").read_text().count("\n")
    started = time.perf_counter()
    run_grid(["german"], ["ptgan"], [0], out=out, params=TINY, evaluation=QUICK)
    assert time.perf_counter() - started < 5
    assert (out / "runs.jsonl").read_text().count("\n") == lines
    with pytest.raises(SystemExit, match="another --out"):
        run_grid(["german"], ["ptgan"], [0], out=out, params={"ptgan": {"epochs": 3}})


def test_rerun_appends_a_newer_record_that_counts(grid, tmp_path) -> None:
    out, _ = grid
    shutil.copy(out / "runs.jsonl", tmp_path / "runs.jsonl")
    before = load_runs(tmp_path)[("german", "ptgan", 0)]
    run_grid(
        ["german"], ["ptgan"], [0], out=tmp_path, params=TINY, evaluation=QUICK, threads=1,
        rerun=True,
    )  # fmt: skip
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert len(lines) == (out / "runs.jsonl").read_text().count("\n") + 1
    after = load_runs(tmp_path)[("german", "ptgan", 0)]
    assert after["finished"] >= before["finished"] and after is not before
    assert json.loads(lines[-1])["finished"] == after["finished"]


def test_timeout_kills_the_run_and_records_it(tmp_path) -> None:
    table = run_grid(["german"], ["ptgan"], [1], out=tmp_path, params=TINY, timeout=1)
    record = load_runs(tmp_path)[("german", "ptgan", 1)]
    assert record["status"] == "timeout" and "time budget of 1 s" in record["error"]
    assert table.empty


def test_summary_writes_markdown_and_figures(grid, tmp_path) -> None:
    out, _ = grid
    text = summarize(out, tmp_path / "benchmarks.md", tmp_path / "img")
    assert "## german" in text and "| ptgan | 1 |" in text and "| wgan-gp | 1 |" in text
    assert "HistGB DP (sex)" in text and "Command: `pytest smoke`" in text
    assert (tmp_path / "benchmarks.md").read_text() == text
    for name in ("benchmarks-quality-time.png", "benchmarks-utility-fairness.png"):
        assert (tmp_path / "img" / name).stat().st_size > 1000


def test_registry_errors_name_what_to_do() -> None:
    assert {"ptgan", "wgan-gp", "ctgan", "tvae", "gaussian-copula"} <= set(SYNTHESIZERS)
    with pytest.raises(KeyError, match="Registered:"):
        build("no-such", None, 0)  # type: ignore[arg-type]
    with pytest.raises(MissingPackageError, match="bench extra"):
        _import("no_such_module_for_fairsynth", "no-such-package")


def test_gradient_variance_leaves_the_model_as_it_was() -> None:
    from fairsynth.models.ptgan import PTGANSynthesizer
    from fairsynth.toy import make_ring

    data = make_ring(400, random_state=0)
    params = {"epochs": 1, "batch_size": 100, "generator_dims": (16,), "critic_dims": (16,),
              "verbose": False, "random_state": 0}  # fmt: skip
    model = ProbedPTGAN(**params).fit(data)
    before = {k: v.clone() for k, v in model.generator_.state_dict().items()}
    rng = model._torch_generator.get_state().clone()
    found = model.gradient_variance(model.training_matrix_, "wgan-gp", batches=4)
    assert model.get_params() == PTGANSynthesizer(**params).get_params()  # left as built
    assert torch.equal(model._torch_generator.get_state(), rng)
    for key, value in model.generator_.state_dict().items():
        assert torch.equal(value, before[key])
    for trace, norm2, ratio in found.values():
        assert trace > 0 and norm2 > 0 and np.isclose(ratio, trace / norm2)


def test_variance_study_rows() -> None:
    rows = variance_study("ptgan", 0, [0], ["ptgan", "wgan-gp"], batches=3)
    assert {(r["Objective"], r["Network"]) for r in rows} == {
        (o, n) for o in ("ptgan", "wgan-gp") for n in ("generator", "critic")
    }
    assert all(r["Step"] == 0 and r["Ratio"] > 0 for r in rows)
    assert json.dumps(rows)  # plain data, ready for the CSV


@pytest.mark.parametrize("fairness", [0.0, 1.0, 2.0])
def test_resampling_moves_cell_counts_as_the_knob_does(fairness: float) -> None:
    from fairsynth.datasets import load_dataset

    ds = load_dataset("german")
    table = resample(ds.train, "sex", ds.target, ds.positive_label, fairness, seed=0)
    assert len(table) == len(ds.train)
    assert table["sex"].value_counts().to_dict() == ds.train["sex"].value_counts().to_dict()
    positive = (ds.train[ds.target] == ds.positive_label).groupby(ds.train["sex"]).mean()
    overall = float((ds.train[ds.target] == ds.positive_label).mean())
    moved = (table[ds.target] == ds.positive_label).groupby(table["sex"]).mean()
    asked = positive + fairness * (overall - positive)
    np.testing.assert_allclose(moved.sort_index(), asked.sort_index(), atol=2e-3)
    # rows are real rows of their cell: nothing new is made up
    assert (
        table.merge(ds.train.drop_duplicates(), how="left", indicator=True)["_merge"]
        .eq("both")
        .all()
    )
    scores = score(table, ds.test, "sex", ds.target, ds.positive_label)
    assert 0.5 < scores["auc"] <= 1 and 0 <= scores["dp"] <= 1
    assert {"auc_within[female]", "auc_within[male]"} <= set(scores)


def test_swapped_tables_replace_exactly_one_cell_or_group() -> None:
    from fairsynth.datasets import load_dataset

    ds = load_dataset("german")
    real = ds.train.assign(origin="real")
    other = ds.train.sample(frac=1.0, random_state=1).assign(origin="other")
    parts = list(swapped_tables(real, other, "sex", ds.target, ds.positive_label))
    assert len(parts) == 3 * real["sex"].nunique()  # each group: two cells, then the whole group
    for table, label in parts:
        swapped, kept = table[table["origin"] == "other"], table[table["origin"] == "real"]
        group = label.split(",")[0].removeprefix("sex=")
        in_part = swapped["sex"].astype(str) == group
        kept_in_part = kept["sex"].astype(str) == group
        if "positive=" in label:
            wanted = label.endswith("True")
            in_part &= (swapped[ds.target] == ds.positive_label) == wanted
            kept_in_part &= (kept[ds.target] == ds.positive_label) == wanted
        assert in_part.all() and len(swapped) > 0  # only the part comes from the other table
        assert not kept_in_part.any()  # and none of the real table's part is left


@pytest.fixture(scope="module")
def german_fair(tmp_path_factory: pytest.TempPathFactory):
    from conftest import SMALL_NETS

    from fairsynth.datasets import load_dataset
    from fairsynth.models.fair import FairPTGANSynthesizer

    ds = load_dataset("german")
    model = FairPTGANSynthesizer(
        sensitive="sex", target=ds.target, positive_label=ds.positive_label,
        discrete_columns=ds.discrete_columns, epochs=1,
        **SMALL_NETS,
    ).fit(ds.train)  # fmt: skip
    path = tmp_path_factory.mktemp("knob") / "german-fair.fairsynth"
    model.save(path)
    return ds, model, path


def test_refined_samples_keep_the_knobs_cells(german_fair) -> None:
    ds, model, _ = german_fair
    cells = ["sex", ds.target]
    refiner = Refiner(model, ds.train, "LogReg", pool=3)
    refined = refiner.sample(300, cells, 0, fairness=1.5, by="sex", balanced_groups=False)
    plain = model.sample(300, fairness=1.5, by="sex", random_state=0)
    wanted, got = plain.groupby(cells).size(), refined.groupby(cells).size()
    assert set(got.index) == set(wanted.index)
    assert (got - wanted).abs().max() <= 1  # the candidates' cells are the knob's, 3 times over
    candidates = model.sample(900, fairness=1.5, by="sex", random_state=0)
    assert (
        refined.merge(candidates.drop_duplicates(), how="left", indicator=True)["_merge"]
        .eq("both")
        .all()
    )  # every row is one of the candidates generated for its cell


def test_noise_scale_changes_the_generator_input_only(german_fair) -> None:
    _, _, path = german_fair
    from fairsynth.models.base import BaseSynthesizer

    model = BaseSynthesizer.load(path)
    before = model.sample(200, random_state=0)
    scale_noise(model, 1.0)
    pd.testing.assert_frame_equal(model.sample(200, random_state=0), before)
    scale_noise(model, 0.0)  # on top: noise 0 x 1
    assert not model.sample(200, random_state=0).equals(before)


def _knob_draws_on_german(path, tmp_path, *options: str) -> None:
    eg = pd.DataFrame(
        {"source": "ExponentiatedGradient", "attribute": "sex", "dp": [0.0, 0.2], "auc": [0.7, 0.8]}
    )
    eg.to_csv(tmp_path / "eg.csv", index=False)
    knob_draws([
        str(path), "--dataset", "german", "--by", "sex", "--eg", str(tmp_path / "eg.csv"),
        "--draws", "2", *options, "--out", str(tmp_path),
    ])  # fmt: skip


def test_knob_draws_writes_rows_against_eg(german_fair, tmp_path) -> None:
    _, _, path = german_fair
    _knob_draws_on_german(path, tmp_path, "--fairness", "0", "1")
    rows = pd.read_csv(tmp_path / "german-fair.default.draws.csv")
    assert len(rows) == 4 and set(rows["fairness"]) == {0.0, 1.0}
    expected = rows["auc"] - np.interp(rows["dp"], [0.0, 0.2], [0.7, 0.8])
    np.testing.assert_allclose(rows["vs_eg"], expected)
    assert rows["calibrated_to"].isna().all()


def test_knob_draws_at_the_calibrated_fairness(german_fair, tmp_path) -> None:
    ds, model, path = german_fair
    from fairsynth.frontier import calibrate_fairness

    _knob_draws_on_german(path, tmp_path, "--fairness", "--calibrate", "0.05")
    rows = pd.read_csv(tmp_path / "german-fair.default.calibrated-0.05.draws.csv")
    found = calibrate_fairness(model, ds.train, 0.05, reference_model="LogReg", by="sex")
    assert len(rows) == 2 and (rows["calibrated_to"] == 0.05).all()
    assert rows["fairness"].tolist() == [round(found.fairness, 4)] * 2
