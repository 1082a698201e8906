"""The ``.fairsynth`` model file: a zip of JSON and safetensors, loadable without running code.

Layout (format version 1)::

    manifest.json         format name and version, fairsynth version, class, parameters,
                          fitted attributes (plain JSON), sha256 of every other member
    transform.json        the table transform's configuration (plain JSON)
    transform.safetensors its arrays
    weights.safetensors   the networks' tensors, keys prefixed by the network's name

Nothing is unpickled: JSON and safetensors only carry data, so a crafted file cannot execute
code when loaded. Every member is checked against the manifest's checksum, so a truncated or
altered file is refused with :class:`~fairsynth.exceptions.ModelFileError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load as load_numpy
from safetensors.numpy import save as save_numpy
from safetensors.torch import load as load_torch
from safetensors.torch import save as save_torch

from fairsynth.exceptions import ModelFileError
from fairsynth.io import atomic_output

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ModelContents", "read_model_file", "write_model_file"]

FORMAT_NAME = "fairsynth-model"
FORMAT_VERSION = 1
_MEMBERS = ("transform.json", "transform.safetensors", "weights.safetensors")


@dataclass
class ModelContents:
    """What a model file holds, as plain data."""

    class_name: str
    params: dict[str, Any]
    fitted: dict[str, Any]
    transform_config: dict[str, Any]
    transform_arrays: dict[str, np.ndarray]
    weights: dict[str, torch.Tensor]
    fairsynth_version: str = ""


def write_model_file(path: str | os.PathLike[str], contents: ModelContents, version: str) -> Path:
    """Write ``contents`` to ``path`` atomically (a temporary file renamed on success)."""
    blobs = {
        "transform.json": json.dumps(contents.transform_config).encode("utf-8"),
        "transform.safetensors": save_numpy(
            {k: np.ascontiguousarray(v) for k, v in contents.transform_arrays.items()}
        ),
        "weights.safetensors": save_torch(
            {k: v.detach().cpu().contiguous() for k, v in contents.weights.items()}
        ),
    }
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fairsynth_version": version,
        "class": contents.class_name,
        "params": contents.params,
        "fitted": contents.fitted,
        "sha256": {name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()},
    }
    out = Path(path)
    with atomic_output(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, blob in blobs.items():
            archive.writestr(name, blob)
    return out


def _read_manifest(archive: zipfile.ZipFile, source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read("manifest.json").decode("utf-8"))
    except KeyError:
        raise ModelFileError(
            f"'{source}' has no manifest.json: not a fairsynth model file."
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"'{source}' has a corrupted manifest.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelFileError(f"'{source}' is not a fairsynth model file.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"'{source}' has model format version {version!r}, written by fairsynth "
            f"{manifest.get('fairsynth_version', '?')}; this fairsynth reads versions up to "
            f"{FORMAT_VERSION}. Upgrade fairsynth to load it."
        )
    return manifest


def read_model_file(path: str | os.PathLike[str]) -> ModelContents:
    """Read and verify a model file; raise :class:`ModelFileError` on any problem."""
    source = Path(path)
    if not source.exists():
        raise ModelFileError(f"Model file '{source}' does not exist.")
    if source.is_dir():
        raise ModelFileError(f"'{source}' is a directory, not a model file.")
    try:
        with zipfile.ZipFile(source) as archive:
            manifest = _read_manifest(archive, source)
            blobs = {}
            for name in _MEMBERS:
                blob = archive.read(name)
                if hashlib.sha256(blob).hexdigest() != manifest.get("sha256", {}).get(name):
                    raise ModelFileError(
                        f"'{source}': member {name} does not match its checksum; "
                        "the file was altered or damaged."
                    )
                blobs[name] = blob
    except (zipfile.BadZipFile, EOFError, KeyError, OSError) as exc:
        raise ModelFileError(
            f"'{source}' is not a readable fairsynth model file (truncated or damaged?): {exc}"
        ) from None
    try:
        return ModelContents(
            class_name=str(manifest["class"]),
            params=dict(manifest["params"]),
            fitted=dict(manifest["fitted"]),
            transform_config=json.loads(blobs["transform.json"].decode("utf-8")),
            transform_arrays=load_numpy(blobs["transform.safetensors"]),
            weights=load_torch(blobs["weights.safetensors"]),
            fairsynth_version=str(manifest.get("fairsynth_version", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"'{source}' has malformed contents: {exc}") from None
