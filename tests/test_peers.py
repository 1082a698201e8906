"""TabFairGDT as a measured peer: the registry entry, the grid's skip and the frontier drawing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import peer_frontier, registry
from benchmarks.peers import peer_frontier as peer_rows
from benchmarks.peers import tabfairgdt as peer_module
from benchmarks.run import run_grid
from fairsynth.datasets import load_dataset


@pytest.fixture(scope="module")
def german():
    return load_dataset("german")


def _committed_like_rows(attribute: str = "sex") -> pd.DataFrame:
    """Rows shaped like a committed knob frontier (two λ) and ExponentiatedGradient's."""
    rows = []
    for source, fairness, auc, dp in [
        ("FairPTGAN", 0.0, 0.80, 0.10),
        ("FairPTGAN", 1.0, 0.78, 0.02),
        ("ExponentiatedGradient", 0.01, 0.79, 0.01),
        ("ExponentiatedGradient", 0.1, 0.81, 0.08),
    ]:
        for model in ("LogReg", "HistGB"):
            rows.append(
                {"source": source, "fairness": fairness, "seed": 0, "model": model}
                | {"sensitive_feature": "included", "attribute": attribute, "by": attribute}
                | {"auc": auc, "dp": dp, "eo": dp, "dp_at_rate": dp}
            )
    return pd.DataFrame(rows)


def test_registry_entry_fits_and_samples_a_small_table(german):
    pytest.importorskip("tabfairgdt")
    small = german.train.head(200)
    state = np.random.get_state()  # noqa: NPY002
    model = registry.build("tabfairgdt-1", german, seed=3).fit(small)
    first = model.sample(150)
    again = registry.build("tabfairgdt-1", german, seed=3).fit(small).sample(150)
    assert list(first.columns) == list(small.columns)
    assert (first.dtypes == small.dtypes).all()
    assert len(first) == 150
    for column in german.discrete_columns:
        assert set(first[column]) <= set(small[column])
    pd.testing.assert_frame_equal(first, again)  # seeded
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(state[1:3], after[1:3], strict=True))
    assert model.model.fairness == 1.0 and model.model.protected == "sex"


def test_missing_peer_is_skipped_by_the_grid_in_one_line(monkeypatch, tmp_path, capsys):
    ghost = registry.Spec(
        registry.SYNTHESIZERS["tabfairgdt"].factory,
        "peer",
        "a peer that is not installed",
        "no-such-package",
        module="no_such_package_here",
    )
    monkeypatch.setitem(registry.SYNTHESIZERS, "ghost-peer", ghost)
    assert registry.missing_packages(["ghost-peer", "ptgan"]) == {"ghost-peer": "no-such-package"}
    table = run_grid(["german"], ["ghost-peer"], [0], out=tmp_path)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "ghost-peer" in ln]
    assert lines == ["Skipping ghost-peer: not installed here (pip install no-such-package)."]
    assert table.empty and not (tmp_path / "runs.jsonl").exists()


def test_frontier_is_drawn_without_the_peer_and_says_so(monkeypatch, tmp_path, capsys, german):
    monkeypatch.setattr(peer_module, "available", lambda: False)
    notes: list[str] = []
    assert peer_rows("tabfairgdt", german, say=notes.append).empty
    assert len(notes) == 1 and "not installed" in notes[0]
    ours = tmp_path / "ours.csv"
    _committed_like_rows().to_csv(ours, index=False)
    peer_frontier.main(["--dataset", "german", "--ours", str(ours), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "peer tabfairgdt: not installed" in out
    assert (tmp_path / "german.sex.included.png").stat().st_size > 10_000
    assert not list(tmp_path.glob("*tabfairgdt*.frontier.csv"))


def test_frontier_with_the_peer(tmp_path, german):
    pytest.importorskip("tabfairgdt")
    ours = tmp_path / "ours.csv"
    _committed_like_rows().to_csv(ours, index=False)
    argv = ["--dataset", "german", "--fairness", "0", "1", "--seeds", "0"]
    peer_frontier.main([*argv, "--ours", str(ours), "--out", str(tmp_path)])
    rows = pd.read_csv(tmp_path / "german-tabfairgdt.sex.frontier.csv")
    assert set(rows["source"]) == {"TabFairGDT"}
    assert set(rows["fairness"]) == {0.0, 1.0}
    assert set(rows["sensitive_feature"]) == {"included", "excluded"}
    assert set(rows["model"]) == {"LogReg", "HistGB"}
    assert rows[["auc", "dp", "eo", "positive_share", "exact_copy_share"]].notna().all().all()
    assert rows["auc"].between(0.5, 1).all() and rows["positive_share"].between(0, 1).all()
    assert (tmp_path / "german.sex.excluded.png").exists()
    summary = (tmp_path / "german.sex.summary.md").read_text()
    assert "Peer against the knob at the same DP" in summary


def test_knob_interpolated_at_the_peer_dp():
    ours = _committed_like_rows()
    peer = pd.DataFrame(
        {"source": "TabFairGDT", "fairness": [0.5, 0.5], "seed": [0, 1], "model": "HistGB"}
        | {"sensitive_feature": "included", "attribute": "sex", "auc": [0.80, 0.78]}
        | {"dp": [0.05, 0.07]}
    )
    row = peer_frontier.at_same_dp(peer, ours, "sex").iloc[0]
    # the knob's HistGB curve runs (0.02, 0.78) to (0.10, 0.80): at DP 0.06, 0.79
    assert row["knob_auc_at_dp"] == pytest.approx(0.79)
    assert row["peer_minus_knob"] == pytest.approx(0.0)


@pytest.fixture(scope="module")
def german_knob(tmp_path_factory: pytest.TempPathFactory, german):
    from conftest import SMALL_NETS

    from fairsynth.models.fair import FairPTGANSynthesizer

    model = FairPTGANSynthesizer(
        sensitive="sex", target=german.target, positive_label=german.positive_label,
        discrete_columns=german.discrete_columns, epochs=1, **SMALL_NETS,
    ).fit(german.train)  # fmt: skip
    path = tmp_path_factory.mktemp("knob") / "german-fair.fairsynth"
    model.save(path)
    return path


@pytest.mark.parametrize("installed", [False, True])
def test_fair_frontier_draws_the_peer_beside_the_knob(
    installed, german_knob, monkeypatch, tmp_path, capsys
):
    from benchmarks import fair_frontier

    if installed:
        pytest.importorskip("tabfairgdt")
    else:
        monkeypatch.setattr(peer_module, "available", lambda: False)
    fair_frontier.main([
        "frontier", str(german_knob), "--dataset", "german", "--parts", "frontier", "--no-eg",
        "--peer", "tabfairgdt", "--out", str(tmp_path),
    ])  # fmt: skip
    rows = pd.read_csv(tmp_path / "german-fair.frontier.sex.csv")
    assert (tmp_path / "german-fair.frontier.sex.included.png").exists()
    assert "FairPTGAN" in set(rows["source"])
    assert ("TabFairGDT" in set(rows["source"])) == installed
    assert ("peer tabfairgdt: not installed" in capsys.readouterr().out) != installed
    if installed:
        peer = rows[rows["source"] == "TabFairGDT"]
        assert set(peer["fairness"]) == set(peer_module.LAMBDAS) and (peer["by"] == "sex").all()


def test_knob_tables_give_the_shares_of_a_saved_model(german_knob, german, monkeypatch, tmp_path):
    monkeypatch.setattr(peer_module, "available", lambda: False)
    ours = tmp_path / "ours.csv"
    _committed_like_rows().to_csv(ours, index=False)
    peer_frontier.main([
        "--dataset", "german", "--ours", str(ours), "--seeds", "0", "1", "--out", str(tmp_path),
        "--knob-model", str(german_knob), "--knob-fairness", "0", "1",
    ])  # fmt: skip
    tables = pd.read_csv(tmp_path / "german-knob.sex.tables.csv")
    assert len(tables) == 4 and set(tables["fairness"]) == {0.0, 1.0}
    # λ = 0 keeps the data's cell counts exactly: the positive share is the real one
    real = float((german.train[german.target] == german.positive_label).mean())
    at_zero = tables[tables["fairness"] == 0.0]
    np.testing.assert_allclose(at_zero["positive_share"], real, atol=1 / len(german.train))
    assert tables["exact_copy_share"].between(0, 1).all() and (tables["fit_s"] > 0).all()
    assert "FairPTGAN's tables" in (tmp_path / "german.sex.summary.md").read_text()


def test_mostlyai_peer_is_not_installed_without_its_python(monkeypatch, tmp_path, german):
    from benchmarks.peers import mostlyai_fair

    monkeypatch.setenv("FAIRSYNTH_MOSTLYAI_PYTHON", str(tmp_path / "no-python"))
    notes: list[str] = []
    assert not mostlyai_fair.available()
    assert peer_rows("mostlyai", german, say=notes.append).empty
    assert len(notes) == 1 and "peer mostlyai: not installed" in notes[0]


def test_mostlyai_peer_scores_kept_samples_without_refitting(monkeypatch, tmp_path, german):
    import hashlib
    import json

    from benchmarks.peers import mostlyai_fair

    # no engine here: a refit would fail, so the rows must come from the kept samples
    monkeypatch.setenv("FAIRSYNTH_MOSTLYAI_PYTHON", str(tmp_path / "no-python"))
    folder = tmp_path / german.name
    folder.mkdir()
    german.train.to_csv(folder / "train.csv", index=False)
    digest = hashlib.sha256((folder / "train.csv").read_bytes()).hexdigest()
    record = {"seed": 0, "fit_s": 1.5, "sample_s[off]": 0.1, "sample_s[sex]": 0.2}
    (folder / "0.json").write_text(json.dumps(record | {"train_sha256": digest}))
    unfair = german.train.sample(frac=1.0, random_state=1)
    fair = unfair.assign(**{german.target: german.train[german.target].to_numpy()})
    for case, rows in (("off", unfair), ("sex", fair)):
        rows.astype(str).to_csv(folder / f"0-{case}.csv.gz", index=False)  # types come back
    rows = mostlyai_fair.frontier_rows(german, seeds=[0], work=tmp_path)
    assert set(rows["source"]) == {"MOSTLY AI fair"} and set(rows["fairness"]) == {0.0, 1.0}
    assert set(rows["model"]) == {"LogReg", "HistGB"} and set(rows["protected"]) == {"sex"}
    # λ = 0 is a copy of the training rows; λ = 1 has its outcomes torn from the rows
    assert (rows.loc[rows["fairness"] == 0.0, "auc"] > 0.75).all()
    assert (rows.loc[rows["fairness"] == 1.0, "auc"] < 0.6).all()
    assert (rows.loc[rows["fairness"] == 1.0, "sample_s"] == 0.2).all()
    assert (rows.loc[rows["fairness"] == 0.0, "exact_copy_share"] == 1.0).all()
    with pytest.raises(ValueError, match=r"on \(λ = 1\) or off"):
        mostlyai_fair.frontier_rows(german, fairness=[0.5], seeds=[0], work=tmp_path)
