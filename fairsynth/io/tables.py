"""Tables in and out, shared by the CLI and the model files: safe reads, atomic writes.

Outputs follow the rules of :mod:`fairsynth.io.output` (atomic files, write-through streams);
``atomic_output`` and ``check_output_path`` are re-exported here.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import os
import re
import warnings
import zlib
from pathlib import Path
from typing import BinaryIO, cast

import pandas as pd

from fairsynth.exceptions import DataError, format_choices
from fairsynth.io.output import atomic_output, check_output_path, open_output

__all__ = ["atomic_output", "available_memory", "check_output_path", "read_table", "write_table"]

# A date, or a date and time, in ISO 8601 (as pandas writes them), with an optional UTC offset.
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?"
)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``/proc/meminfo``, else psutil if installed)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


# Compressions read transparently, recognised by their first bytes (whatever the file's name).
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\x28\xb5\x2f\xfd": "zstd"}
_DECOMPRESS_ERRORS = (OSError, EOFError, zlib.error, ValueError)


def _compression(source: Path) -> str | None:
    """'gzip', 'bz2' or 'zstd' from the file's first bytes; None for an uncompressed file."""
    try:
        with source.open("rb") as handle:
            start = handle.read(4)
    except OSError as exc:
        raise DataError(f"Cannot read '{source}': {exc.strerror}.") from None
    kind = next((name for magic, name in _MAGIC.items() if start.startswith(magic)), None)
    if kind == "zstd":
        try:
            import zstandard  # noqa: F401
        except ImportError:
            raise DataError(
                f"File '{source}' is zstd-compressed; reading it needs the zstandard module "
                "(pip install zstandard), or decompress it first (unzstd)."
            ) from None
    return kind


def _open_binary(source: Path, compression: str | None) -> BinaryIO:
    """The file's bytes, decompressed."""
    if compression == "gzip":
        return cast(BinaryIO, gzip.open(source, "rb"))
    if compression == "bz2":
        return cast(BinaryIO, bz2.open(source, "rb"))
    if compression == "zstd":
        import zstandard

        return cast(BinaryIO, zstandard.open(source, "rb"))
    return source.open("rb")


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (or Parquet) file with errors that say what is wrong with it.

    The delimiter is sniffed from the first lines, so ``;`` and tab separated files work.
    A CSV compressed with gzip, bzip2 or zstd (zstd needs the ``zstandard`` module) is read
    as it is, whatever its name. A text column whose every value is an ISO 8601 date or
    date-time (``2024-05-01``, ``2024-05-01 13:45:00+02:00``) is read as datetimes, so it is
    modelled as a time.

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
    compression = _compression(source)
    packed = f"{compression}-compressed " if compression else ""
    try:
        with _open_binary(source, compression) as raw:
            head = raw.read(64 * 1024).decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start > 64 * 1024 - 4:  # a character cut at the end of the 64 KiB read
            head = exc.object[: exc.start].decode("utf-8-sig")
        else:
            raise DataError(
                f"File '{source}' is not UTF-8 text (is it a {packed}CSV file? re-save it as "
                "UTF-8)."
            ) from None
    except _DECOMPRESS_ERRORS as exc:
        raise DataError(f"File '{source}' is a damaged {compression} file: {exc}") from None
    if "\x00" in head:
        raise DataError(f"File '{source}' is binary, not a CSV file.")
    if not head.strip():
        raise DataError(f"File '{source}' is empty.")
    try:
        delimiter = csv.Sniffer().sniff(head.split("\n", 20)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    _check_header(source, head, delimiter)
    try:
        with _open_binary(source, compression) as raw:
            frame = pd.read_csv(raw, sep=delimiter, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, *_DECOMPRESS_ERRORS) as exc:
        message = " ".join(str(exc).split())
        raise DataError(f"File '{source}' is not a readable {packed}CSV file: {message}") from None
    if frame.shape[1] < 1 or frame.empty:
        raise DataError(f"File '{source}' has a header but no data rows.")
    _check_one_column(source, frame)
    return _parse_iso_dates(frame)


def _parse_iso_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Read text columns made only of ISO 8601 dates as datetimes (others are left as they are)."""
    for name in frame.columns:
        if not pd.api.types.is_object_dtype(frame[name].dtype):
            continue
        values = frame[name].dropna()
        if values.empty or not all(
            isinstance(v, str) and _ISO_DATE.fullmatch(v) for v in values.iloc[:1000]
        ):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # mixed UTC offsets and the like: keep the text
            try:
                parsed = pd.to_datetime(frame[name], format="ISO8601")
            except (ValueError, TypeError, OverflowError, Warning):
                continue
        frame[name] = parsed
    return frame


def _check_header(source: Path, head: str, delimiter: str) -> None:
    """Refuse repeated column names (pandas would silently rename them 'a.1', ...)."""
    try:
        names = next(csv.reader(io.StringIO(head), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(
            f"File '{source}' repeats column names: {format_choices(repeated)}. "
            "Give every column its own name."
        )


def _check_one_column(source: Path, frame: pd.DataFrame) -> None:
    """Refuse a file that reads as one column whose header and rows split evenly on spaces."""
    if frame.shape[1] != 1:
        return
    fields = len(str(frame.columns[0]).split())
    rows = frame.iloc[:20, 0].dropna().astype(str)
    if fields > 1 and len(rows) and all(len(row.split()) == fields for row in rows):
        raise DataError(
            f"File '{source}' reads as one column named {str(frame.columns[0])!r}, but its "
            "header and rows split into the same number of fields on spaces. fairsynth reads "
            "files separated by commas, semicolons, tabs or '|': re-save it with one of those."
        )


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` as CSV (or Parquet, by suffix) atomically; return the path.

    ``path`` follows :mod:`fairsynth.io.output`'s rules (``-`` is standard output).
    """
    out = Path(path)
    with open_output(out) as handle:
        if out.suffix.lower() == ".parquet":
            frame.to_parquet(handle, index=False)
        else:
            text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            frame.to_csv(text, index=False)
            text.detach()  # flushes; the handle is closed by open_output, not here
    return out
