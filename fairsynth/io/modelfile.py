"""The ``.fairsynth`` model file: a zip of JSON and safetensors, loadable without running code.

Layout (format version 1)::

    manifest.json         format name and version, fairsynth version, class, parameters,
                          fitted attributes (plain JSON), sha256 of every other member
    transform.json        the table transform's configuration (plain JSON)
    transform.safetensors its arrays
    weights.safetensors   the networks' tensors, keys prefixed by the network's name
    training.json         (checkpoints only) epoch, seed, optimiser settings: plain JSON
    training.safetensors  (checkpoints only) optimiser moments and random-generator states

Nothing is unpickled: JSON and safetensors only carry data, so a crafted file cannot execute
code when loaded. Every member is checked against the manifest's checksum, so a truncated or
altered file is refused with :class:`~fairsynth.exceptions.ModelFileError`. The two
``training.*`` members are optional (a reader that does not know them still loads the model), so
a checkpoint is also an ordinary model file.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as load_numpy
from safetensors.numpy import save as save_numpy
from safetensors.torch import load as load_torch
from safetensors.torch import save as save_torch

from fairsynth.exceptions import ModelFileError
from fairsynth.io.output import open_output
from fairsynth.io.tables import available_memory

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ModelContents",
    "check_names",
    "plain_params",
    "read_model_file",
    "write_model_file",
]

FORMAT_NAME = "fairsynth-model"
FORMAT_VERSION = 1
_MEMBERS = ("transform.json", "transform.safetensors", "weights.safetensors")
_TRAINING_MEMBERS = ("training.json", "training.safetensors")

# Limits on what reading a model file may take, checked before a member is read: its size as
# the zip declares it, its real size as it is read, and how much it expands (a 2 MB zip bomb
# must not take gigabytes of memory before its checksum is checked). Raise them here for a
# model larger than any fairsynth makes today (Adult's default model: 3.6 MB).
MAX_JSON_BYTES = 64 * 2**20  # manifest.json, transform.json, training.json
MAX_MEMBER_BYTES = 2 * 2**30  # one tensor member
MAX_RATIO = 50  # uncompressed / compressed size of a member over 1 MiB (weights: about 1.1)
# What a damaged zip can raise: a bad header, a cut stream, an unknown or encrypted method...
_ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError, OSError, NotImplementedError,
    RuntimeError, ValueError, zlib.error,
)  # fmt: skip


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
    training: dict[str, Any] | None = None  # checkpoints only: state to resume a fit
    training_tensors: dict[str, torch.Tensor] | None = None
    versions: dict[str, str] = field(default_factory=dict)  # torch, numpy, python (files of 0.1+)


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
    if contents.training is not None:
        blobs["training.json"] = json.dumps(contents.training).encode("utf-8")
        tensors = contents.training_tensors or {}
        blobs["training.safetensors"] = save_torch(
            {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        )
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fairsynth_version": version,
        "versions": _versions(),
        "class": contents.class_name,
        "params": contents.params,
        "fitted": contents.fitted,
        "sha256": {name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()},
    }
    out = Path(path)
    with open_output(out) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, blob in blobs.items():
            archive.writestr(name, blob)
    return out


def _versions() -> dict[str, str]:
    """The versions of the libraries that wrote a model file (shown by ``fairsynth info``)."""
    import platform

    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON data: tuples as lists, numpy scalars as numbers, paths as text.

    A ``random_state`` that is not an integer (a RandomState or Generator) is saved as None.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, dict):  # privacy={'metadata': {...}} nests lists and numbers
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        return value

    out = {key: plain(value) for key, value in params.items()}
    seed = out.get("random_state")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        out["random_state"] = None
    return out


def check_names(
    source: str | os.PathLike[str],
    contents: ModelContents,
    param_names: Collection[str],
    reserved: Collection[str],
) -> None:
    """Refuse parameters the class does not take and fitted names that are not plain data.

    A fitted name must look like ``name_`` (public, trailing underscore) and not be one of
    ``reserved`` (the class's methods and attributes, the networks, ...): a file can set data
    attributes, never replace behaviour.
    """
    unknown = sorted(set(contents.params) - set(param_names))
    if unknown:
        raise ModelFileError(
            f"'{source}' sets parameters {unknown} that this fairsynth's {contents.class_name} "
            f"does not take (written by fairsynth {contents.fairsynth_version or '?'}); "
            "upgrade fairsynth."
        )
    for key in contents.fitted:
        plain = key.isidentifier() and key.endswith("_") and not key.startswith("_")
        if not plain or key in reserved:
            raise ModelFileError(f"'{source}' has a fitted attribute {key!r} that is not allowed.")


def _read_member(archive: zipfile.ZipFile, name: str, source: Path) -> bytes:
    """Read one member after checking its declared size and expansion against the limits."""
    info = archive.getinfo(name)  # KeyError for a missing member
    limit = MAX_JSON_BYTES if name.endswith(".json") else MAX_MEMBER_BYTES
    size = info.file_size
    problem = ""
    if size > limit:
        problem = f"declares {size:,} bytes, more than the limit of {limit:,}"
    elif (
        name.endswith(".safetensors")
        and size > 2**20
        and size > MAX_RATIO * max(info.compress_size, 1)
    ):
        ratio = size / max(info.compress_size, 1)
        problem = (
            f"expands {ratio:,.0f} times (to {size:,} bytes), more than a model's tensors ever "
            "do (a zip bomb?)"
        )
    else:
        free = available_memory()
        if free is not None and size > free:
            problem = f"declares {size:,} bytes, more than the {free:,} bytes of memory available"
    if not problem:
        with archive.open(info) as handle:
            blob = handle.read(size + 1)
        if len(blob) == size:
            return blob
        problem = f"holds {len(blob):,}+ bytes where the zip declares {size:,}"
    raise ModelFileError(f"'{source}': member {name} {problem}; it is not read.")


def _read_manifest(archive: zipfile.ZipFile, source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(_read_member(archive, "manifest.json", source).decode("utf-8"))
    except KeyError:
        raise ModelFileError(
            f"'{source}' has no manifest.json: not a fairsynth model file."
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
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
    """Read and verify a model file; raise :class:`ModelFileError` on any problem.

    Each member's size is checked against the limits (``MAX_JSON_BYTES``,
    ``MAX_MEMBER_BYTES``, ``MAX_RATIO``, the memory available) before it is read, then
    against its checksum.
    """
    source = Path(path)
    if not source.exists():
        raise ModelFileError(f"Model file '{source}' does not exist.")
    if source.is_dir():
        raise ModelFileError(f"'{source}' is a directory, not a model file.")
    try:
        with zipfile.ZipFile(source) as archive:
            manifest = _read_manifest(archive, source)
            blobs = {}
            checksums = manifest.get("sha256")
            if not isinstance(checksums, dict):
                raise ModelFileError(f"'{source}' has a manifest without checksums.")
            present = [name for name in _TRAINING_MEMBERS if name in checksums]
            for name in (*_MEMBERS, *present):
                blob = _read_member(archive, name, source)
                if hashlib.sha256(blob).hexdigest() != checksums.get(name):
                    raise ModelFileError(
                        f"'{source}': member {name} does not match its checksum; "
                        "the file was altered or damaged."
                    )
                blobs[name] = blob
    except _ZIP_ERRORS as exc:
        message = " ".join(str(exc).split())[:200]
        raise ModelFileError(
            f"'{source}' is not a readable fairsynth model file (truncated or damaged?): {message}"
        ) from None
    training = None
    if all(name in blobs for name in _TRAINING_MEMBERS):
        training = (blobs["training.json"], blobs["training.safetensors"])
    try:
        return ModelContents(
            class_name=str(manifest["class"]),
            params=dict(manifest["params"]),
            fitted=dict(manifest["fitted"]),
            transform_config=json.loads(blobs["transform.json"].decode("utf-8")),
            transform_arrays=load_numpy(blobs["transform.safetensors"]),
            weights=load_torch(blobs["weights.safetensors"]),
            fairsynth_version=str(manifest.get("fairsynth_version", "")),
            training=None if training is None else json.loads(training[0].decode("utf-8")),
            training_tensors=None if training is None else load_torch(training[1]),
            versions={str(k): str(v) for k, v in dict(manifest.get("versions", {})).items()},
        )
    except (KeyError, TypeError, ValueError, SafetensorError, RecursionError) as exc:
        message = " ".join(str(exc).split())[:200]
        raise ModelFileError(f"'{source}' has malformed contents: {message}") from None


def check_tensor_shapes(source: str | os.PathLike[str], model: Any, width: int,
                        weights: dict[str, torch.Tensor]) -> None:  # fmt: skip
    """Refuse a file whose parameters would build networks unlike its tensors.

    ``model`` (a synthesizer with its parameters and transform set) builds its networks on
    torch's meta device, which allocates nothing, so an edited ``noise_dim`` of 10**12 is a
    clear error rather than an attempt to allocate a terabyte.

    Raises
    ------
    ModelFileError
        Naming the first tensor whose shape differs, or that one side lacks (the caller adds
        the file's name: ``source`` is kept for callers that report it themselves).
    """
    del source
    device = model.device_
    model.device_ = torch.device("meta")
    try:
        with torch.device("meta"):
            model._build(torch.zeros((2, width)))
        networks = model._networks()
        expected = {
            f"{name}.{key}": tuple(value.shape)
            for name, network in networks.items()
            for key, value in network.state_dict().items()
        }
    finally:
        model.device_ = device
    found = {key: tuple(value.shape) for key, value in weights.items()}
    ours = {key for key in found if key.split(".", 1)[0] in networks}  # others are ignored
    for key in sorted(set(expected) | ours):
        if expected.get(key) != found.get(key):
            raise ModelFileError(
                f"its parameters make tensor {key} of shape {expected.get(key)}, but its "
                f"weights hold {found.get(key)} (an edited file?)."
            )
