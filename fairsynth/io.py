"""File input and output shared by the CLI and the model files: safe reads, atomic writes."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from fairsynth.exceptions import DataError

__all__ = ["atomic_output", "check_output_path", "read_table", "write_table"]


def check_output_path(path: str | os.PathLike[str], *, inputs: tuple[Path, ...] = ()) -> Path:
    """Check that ``path`` can be written without touching an input; return it resolved.

    Raises
    ------
    DataError
        If ``path`` is a directory, its folder does not exist or is not writable, or it is one
        of ``inputs`` (fairsynth never overwrites its own input).
    """
    out = Path(path)
    if out.is_dir():
        raise DataError(f"Output path '{out}' is a directory; give a file name.")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise DataError(f"Folder '{folder}' of output '{out}' does not exist.")
    if not os.access(folder, os.W_OK):
        raise DataError(f"Folder '{folder}' of output '{out}' is not writable.")
    for source in inputs:
        if out.exists() and source.exists() and out.resolve() == source.resolve():
            raise DataError(f"Output '{out}' is also an input; choose another file name.")
    return out


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    A failure (or Ctrl-C) inside the block removes the temporary file, so no half-written
    output is ever left behind and an existing file at ``path`` is kept as it was.
    """
    out = check_output_path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (or Parquet) file with errors that say what is wrong with it.

    The delimiter is sniffed from the first lines, so ``;`` and tab separated files work.

    Raises
    ------
    DataError
        If the file is missing, a directory, not text, not a table, or has no rows.
    """
    source = Path(path)
    if not source.exists():
        raise DataError(f"Input file '{source}' does not exist.")
    if source.is_dir():
        raise DataError(f"Input '{source}' is a directory, not a CSV file.")
    if source.suffix.lower() == ".parquet":
        try:
            return pd.read_parquet(source)
        except (ImportError, OSError, ValueError) as exc:
            raise DataError(f"Cannot read Parquet file '{source}': {exc}") from None
    try:
        with source.open("r", encoding="utf-8-sig", newline="") as handle:
            head = handle.read(64 * 1024)
    except UnicodeDecodeError:
        raise DataError(
            f"File '{source}' is not UTF-8 text (is it a CSV file? re-save it as UTF-8)."
        ) from None
    if "\x00" in head:
        raise DataError(f"File '{source}' is binary, not a CSV file.")
    if not head.strip():
        raise DataError(f"File '{source}' is empty.")
    try:
        delimiter = csv.Sniffer().sniff(head.split("\n", 20)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(source, sep=delimiter, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"File '{source}' is not a readable CSV file: {exc}".strip()) from None
    if frame.shape[1] < 1 or frame.empty:
        raise DataError(f"File '{source}' has a header but no data rows.")
    return frame


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` as CSV (or Parquet, by suffix) atomically; return the path."""
    out = Path(path)
    with atomic_output(out) as tmp:
        if out.suffix.lower() == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return out
