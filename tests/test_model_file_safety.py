"""Model files cannot run code: crafted pickle payloads, tampering, truncation, newer versions."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from fairsynth import ModelFileError, __version__
from fairsynth.cli import app
from fairsynth.io.modelfile import FORMAT_NAME, FORMAT_VERSION
from fairsynth.models.base import BaseSynthesizer


class Payload:
    """Unpickling this creates ``marker``: evidence that a loader ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite(source: Path, target: Path, edit: Callable[[dict[str, Any], dict[str, bytes]], None],
            *, fix_checksums: bool = True) -> Path:  # fmt: skip
    """Copy a model file with its manifest and members edited (checksums recomputed)."""
    blobs = members(source)
    manifest = json.loads(blobs.pop("manifest.json"))
    edit(manifest, blobs)
    if fix_checksums:
        manifest["sha256"] = {
            name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()
        }
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, blob in blobs.items():
            archive.writestr(name, blob)
    return target


def test_the_file_records_format_and_fairsynth_versions_and_holds_no_pickle(
    model_file: Path,
) -> None:
    blobs = members(model_file)
    manifest = json.loads(blobs["manifest.json"])
    assert manifest["format"] == FORMAT_NAME
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["fairsynth_version"] == __version__
    assert set(blobs) == {"manifest.json", "transform.json", "transform.safetensors",
                          "weights.safetensors"}  # fmt: skip
    assert not any(blob.startswith(b"\x80") for blob in blobs.values())  # pickle protocol ≥ 2


def test_loading_never_unpickles(model_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model file must not be unpickled")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert len(BaseSynthesizer.load(model_file).sample(5, random_state=0)) == 5


def _torch_save(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(2), "trap": Payload(marker)}, buffer)
    return buffer.getvalue()


def _pickled_member(member: str) -> Callable[[Path, Path, Path], Any]:
    """A real model file whose ``member`` is a pickle, its checksum made to match."""

    def craft(source: Path, target: Path, marker: Path) -> Any:
        payload = pickle.dumps(Payload(marker))
        return rewrite(source, target, lambda m, b: b.update({member: payload}))

    return craft


@pytest.mark.parametrize(
    ("craft", "message"),
    [
        # a torch.save file (a zip with a pickle inside) posing as a model file
        (lambda src, dst, marker: dst.write_bytes(_torch_save(marker)), "no manifest.json"),
        # a bare pickle stream
        (lambda src, dst, marker: dst.write_bytes(pickle.dumps(Payload(marker))), "not a readable"),
        (_pickled_member("weights.safetensors"), "malformed contents"),
        (_pickled_member("transform.json"), "malformed contents"),
    ],
    ids=["torch-save", "bare-pickle", "pickled-weights", "pickled-transform"],
)  # fmt: skip
def test_pickle_payloads_are_refused_and_never_run(
    tmp_path: Path, model_file: Path, craft: Callable[..., Any], message: str
) -> None:
    marker = tmp_path / "code-ran"
    crafted = tmp_path / "crafted.fairsynth"
    craft(model_file, crafted, marker)
    with pytest.raises(ModelFileError, match=message):
        BaseSynthesizer.load(crafted)
    assert not marker.exists()


def test_an_extra_pickled_member_is_ignored_not_run(tmp_path: Path, model_file: Path) -> None:
    marker = tmp_path / "code-ran"
    crafted = rewrite(
        model_file, tmp_path / "extra.fairsynth",
        lambda m, b: b.update({"data.pkl": pickle.dumps(Payload(marker))}),
    )  # fmt: skip
    assert len(BaseSynthesizer.load(crafted).sample(3, random_state=0)) == 3
    assert not marker.exists()


def test_a_tampered_member_is_refused(tmp_path: Path, model_file: Path) -> None:
    def flip_one_weight(manifest: dict[str, Any], blobs: dict[str, bytes]) -> None:
        weights = bytearray(blobs["weights.safetensors"])
        weights[-3] ^= 0xFF
        blobs["weights.safetensors"] = bytes(weights)

    tampered = rewrite(model_file, tmp_path / "t.fairsynth", flip_one_weight, fix_checksums=False)
    with pytest.raises(ModelFileError, match=r"weights\.safetensors does not match its checksum"):
        BaseSynthesizer.load(tampered)


@pytest.mark.parametrize("keep", [0, 10, 0.5, -1])
def test_a_truncated_file_is_refused(tmp_path: Path, model_file: Path, keep: float) -> None:
    blob = model_file.read_bytes()
    size = int(len(blob) * keep) if isinstance(keep, float) else keep % len(blob)
    truncated = tmp_path / "cut.fairsynth"
    truncated.write_bytes(blob[:size])
    with pytest.raises(ModelFileError, match="truncated or damaged"):
        BaseSynthesizer.load(truncated)


def test_a_newer_format_version_asks_for_an_upgrade(tmp_path: Path, model_file: Path) -> None:
    def newer(manifest: dict[str, Any], blobs: dict[str, bytes]) -> None:
        manifest.update(format_version=FORMAT_VERSION + 1, fairsynth_version="9.0")

    future = rewrite(model_file, tmp_path / "future.fairsynth", newer)
    with pytest.raises(ModelFileError, match=r"version 2, written by fairsynth 9.0.*Upgrade"):
        BaseSynthesizer.load(future)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["params"].update(bogus=1), r"parameters \['bogus'\].*upgrade"),
        (lambda m: m["fitted"].update(sample=1), "fitted attribute 'sample'"),
        (lambda m: m["fitted"].update(_build=1), "fitted attribute '_build'"),
        (lambda m: m["fitted"].update(generator_=1), "fitted attribute 'generator_'"),
        (lambda m: m["fitted"].update(__class__="x"), "fitted attribute '__class__'"),
        (lambda m: m.update({"class": "TableTransformer"}), "holds a TableTransformer"),
        (lambda m: m["params"].update(generator_dims="abc"), "cannot be rebuilt"),
        (lambda m: m["params"].update(noise_dim=9), r"cannot be rebuilt.*generator_.*shape"),
        (lambda m: m.update(fitted="text"), "malformed contents"),
        (lambda m: m.update(sha256=[]), "without checksums"),
    ],
)
def test_manifest_edits_are_clear_errors(
    tmp_path: Path, model_file: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    # the members are untouched, so their checksums stay valid
    bad = rewrite(model_file, tmp_path / "bad.fairsynth", lambda m, b: edit(m), fix_checksums=False)
    with pytest.raises(ModelFileError, match=message) as info:
        BaseSynthesizer.load(bad)
    assert "\n" not in str(info.value)  # one line, for the CLI


def test_cli_refuses_a_tampered_file_in_one_line_and_writes_nothing(
    tmp_path: Path, model_file: Path
) -> None:
    bad = rewrite(model_file, tmp_path / "bad.fairsynth", lambda m, b: m["fitted"].update(x_=1),
                  fix_checksums=True)  # fmt: skip
    bad.write_bytes(bad.read_bytes()[:-40])
    out = tmp_path / "rows.csv"
    result = CliRunner().invoke(app, ["sample", str(bad), "-n", "10", "-o", str(out)])
    assert result.exit_code == 2 and "truncated or damaged" in result.output
    assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fairsynth"]


def test_a_fresh_process_loads_the_file(tmp_path: Path, model_file: Path) -> None:
    """`fairsynth sample` in a new process, where no synthesizer module is imported yet."""
    out = tmp_path / "rows.csv"
    command = [sys.executable, "-m", "fairsynth", "sample", str(model_file), "-n", "7",
               "-o", str(out), "--seed", "0"]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(out)) == 7


# ------------------------------------------------------------------ bounded loading (issue 19)


def test_a_zip_bomb_member_is_refused_before_it_is_read(tmp_path: Path, model_file: Path) -> None:
    """200 MB of zeros in a 0.2 MB member: refused from the zip's sizes, never decompressed."""
    bomb = bytes(200 * 2**20)
    blobs = members(model_file)
    manifest = json.loads(blobs.pop("manifest.json"))
    manifest["sha256"]["weights.safetensors"] = hashlib.sha256(bomb).hexdigest()
    crafted = tmp_path / "bomb.fairsynth"
    with zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, blob in blobs.items():
            archive.writestr(name, bomb if name == "weights.safetensors" else blob)
    del bomb
    assert crafted.stat().st_size < 2**20
    with pytest.raises(ModelFileError, match=r"member weights\.safetensors expands 1,0\d\d times"):
        BaseSynthesizer.load(crafted)


def test_a_member_larger_than_the_limit_is_refused(
    tmp_path: Path, model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fairsynth.io import modelfile

    monkeypatch.setattr(modelfile, "MAX_JSON_BYTES", 100)  # the manifest is about 2 kB
    with pytest.raises(ModelFileError, match=r"member manifest\.json declares [\d,]+ bytes, more"):
        BaseSynthesizer.load(model_file)


def test_dimensions_are_checked_against_the_weights_before_any_allocation(
    tmp_path: Path, model_file: Path
) -> None:
    """An edited noise_dim of 10**12 would ask for terabytes: a clear error instead, at once."""
    edited = rewrite(model_file, tmp_path / "e.fairsynth",
                     lambda m, b: m["params"].update(noise_dim=10**12))  # fmt: skip
    shape = r"tensor generator_\S+ of shape \(8, 10000000000\d\d\)"  # noise and conditions
    with pytest.raises(ModelFileError, match=shape):
        BaseSynthesizer.load(edited)


def test_a_changed_class_is_named_not_a_missing_column(tmp_path: Path, model_file: Path) -> None:
    edited = rewrite(model_file, tmp_path / "c.fairsynth",
                     lambda m, b: m.update({"class": "FairPTGANSynthesizer"}))  # fmt: skip
    with pytest.raises(ModelFileError, match=r"holds a FairPTGANSynthesizer whose parameters are "
                       r"not valid for one.*needs sensitive") as info:  # fmt: skip
        BaseSynthesizer.load(edited)
    assert "None" not in str(info.value).split("needs")[0]
