"""File input and output shared by the CLI and the model files: safe reads, atomic writes."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from fairsynth.exceptions import DataError, format_choices

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
    if folder.exists() and not folder.is_dir():
        raise DataError(f"'{folder}' in output path '{out}' is a file, not a folder.")
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
    output is ever left behind and an existing file at ``path`` is kept as it was. An
    operating-system error (no permission, disk full, ...) becomes a :class:`DataError`.
    """
    out = check_output_path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise DataError(f"Cannot write to folder '{out.parent}': {exc.strerror}.") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, out)
    except OSError as exc:
        raise DataError(f"Cannot write '{out}': {exc.strerror or exc}.") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (or Parquet) file with errors that say what is wrong with it.

    The delimiter is sniffed from the first lines, so ``;`` and tab separated files work.
    A text column whose every value is an ISO 8601 date or date-time (``2024-05-01``,
    ``2024-05-01 13:45:00+02:00``) is read as datetimes, so it is modelled as a time.

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
    _check_header(source, head, delimiter)
    try:
        frame = pd.read_csv(source, sep=delimiter, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        message = " ".join(str(exc).split())
        raise DataError(f"File '{source}' is not a readable CSV file: {message}") from None
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
    """Write ``frame`` as CSV (or Parquet, by suffix) atomically; return the path."""
    out = Path(path)
    with atomic_output(out) as tmp:
        if out.suffix.lower() == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return out
