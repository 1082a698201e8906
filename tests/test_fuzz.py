"""Fuzzing the two readers of untrusted bytes: CSV tables and model files (issue 19).

Whatever the bytes, a reader returns or raises a :class:`FairsynthError` (one line on the
CLI), never another exception. The default run tries a short, derandomised budget; set
``FAIRSYNTH_FUZZ_EXAMPLES`` (say 20000) for a long run: ``bash benchmarks/fuzz.sh``. Each
read must also stay under a bound on the Python memory it holds.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import os
import tracemalloc
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairsynth import FairsynthError
from fairsynth.io import read_table
from fairsynth.models.base import BaseSynthesizer

BUDGET = settings(
    max_examples=int(os.environ.get("FAIRSYNTH_FUZZ_EXAMPLES", "60")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MEMORY_LIMIT = 256 * 2**20  # Python bytes a reader may hold at once for these small inputs


@contextlib.contextmanager
def bounded_memory() -> Iterator[None]:
    """Fail when the block's Python allocations peak over MEMORY_LIMIT (a decompression bomb
    or a size read from the bytes and trusted would; torch's own buffers are not traced)."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"a reader held {peak / 2**20:.0f} MiB"


cells = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
    st.sampled_from(["", "?", "NA", "n/a", '"', '""', "2024-05-01", "1e309", "\x00", "\ufeff"]),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=5), min_size=0, max_size=8)
separators = st.sampled_from([",", ";", "\t", "|", " "])


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or text that looks like a CSV, maybe compressed or cut short."""
    if draw(st.booleans()):
        data = draw(st.binary(max_size=300))
    else:
        sep = draw(separators)
        text = "\n".join(sep.join(row) for row in draw(rows))
        data = text.encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), "replace")
    packing = draw(st.sampled_from(["none", "gzip", "bz2", "cut-gzip"]))
    if packing == "gzip":
        data = gzip.compress(data)
    elif packing == "bz2":
        data = bz2.compress(data)
    elif packing == "cut-gzip":
        data = gzip.compress(data)[: draw(st.integers(0, 40))]
    return data


@given(data=csv_bytes(), suffix=st.sampled_from([".csv", ".csv.gz", ".parquet", ""]))
@BUDGET
def test_any_bytes_as_a_table_give_a_frame_or_a_fairsynth_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping the reader would be a failure too
        try:
            with bounded_memory():
                frame = read_table(path)
        except FairsynthError as exc:
            assert "\n" not in str(exc)
            return
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 1


@pytest.fixture(scope="module")
def model_bytes(model_file: Path) -> bytes:
    return model_file.read_bytes()


@st.composite
def model_file_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """A real model file with bytes flipped, cut or spliced; or a zip of random members."""
    kind = draw(st.sampled_from(["flip", "cut", "splice", "zip", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=400))
    if kind == "zip":
        buffer = io.BytesIO()
        names = st.sampled_from(["manifest.json", "transform.json", "transform.safetensors",
                                 "weights.safetensors", "training.json", "other"])  # fmt: skip
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, blob in draw(
                st.dictionaries(names, st.binary(max_size=200), max_size=5)
            ).items():
                archive.writestr(name, blob)
        return buffer.getvalue()
    blob = bytearray(original)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            index = draw(st.integers(0, len(blob) - 1))
            blob[index] ^= draw(st.integers(1, 255))
    elif kind == "cut":
        del blob[draw(st.integers(0, len(blob) - 1)) :]
    else:
        at = draw(st.integers(0, len(blob)))
        blob[at:at] = draw(st.binary(min_size=1, max_size=64))
    return bytes(blob)


@given(data=st.data())
@BUDGET
def test_any_bytes_as_a_model_file_give_a_model_or_a_fairsynth_error(
    tmp_path: Path, model_bytes: bytes, data: st.DataObject
) -> None:
    path = tmp_path / "fuzz.fairsynth"
    path.write_bytes(data.draw(model_file_bytes(model_bytes)))
    try:
        with bounded_memory():
            model = BaseSynthesizer.load(path, device="cpu")
    except FairsynthError as exc:
        assert "\n" not in str(exc)
        return
    assert len(model.sample(3, random_state=0)) == 3
