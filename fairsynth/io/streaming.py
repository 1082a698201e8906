"""Write a stream of DataFrame chunks to one CSV or Parquet file, atomically."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import pandas as pd

from fairsynth.exceptions import DataError
from fairsynth.io.output import free_space, is_regular_output, open_output

__all__ = ["format_bytes", "write_chunks"]


def format_bytes(size: float) -> str:
    """``1.2 GB``-style text for a number of bytes (powers of 1000, like ``df -H``)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def write_chunks(
    chunks: Iterable[pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    total_rows: int | None = None,
    max_bytes: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``chunks`` one after another to ``path``; return the number of rows.

    Only one chunk is in memory at a time. The file appears only when every chunk is written
    (a failure or Ctrl-C leaves no partial file); ``-``, a character device or a FIFO are
    written through (see :mod:`fairsynth.io.output`). The format follows the suffix:
    ``.parquet`` (needs pyarrow), anything else CSV.

    Parameters
    ----------
    chunks : iterable of DataFrame
        The rows, chunk by chunk.
    path : str or Path
        Where to write them.
    total_rows : int, optional
        How many rows the chunks hold in all. With it, the size of a regular output file is
        estimated from the first chunk, and the write is refused before it goes on when the
        estimate exceeds ``max_bytes`` or the space free on the file's disk.
    max_bytes : int, optional
        The largest output file to write (no limit when None).
    progress : callable, optional
        Called with the number of rows written so far after each chunk.

    Raises
    ------
    DataError
        If the output would be too large, or cannot be written.
    """
    out = Path(path)
    check = _SizeCheck(out, total_rows, max_bytes) if total_rows else None
    rows = 0
    with open_output(out) as handle:
        if out.suffix.lower() == ".parquet":
            rows = _write_parquet(chunks, handle, check, progress)
        else:
            text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=True)
            try:
                for index, chunk in enumerate(chunks):
                    chunk.to_csv(text, index=False, header=index == 0)
                    rows += len(chunk)
                    if check is not None and index == 0:
                        check(handle, rows)
                    if progress is not None:
                        progress(rows)
            finally:
                text.detach()  # the handle is closed (or, for stdout, kept) by open_output
    return rows


def _write_parquet(
    chunks: Iterable[pd.DataFrame],
    handle: IO[bytes],
    check: _SizeCheck | None,
    progress: Callable[[int], None] | None,
) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        message = "Writing Parquet needs pyarrow: pip install 'fairsynth[parquet]'."
        raise DataError(message) from None
    writer: Any = None
    rows = 0
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(handle, table.schema)
            writer.write_table(table)
            rows += len(chunk)
            if check is not None and rows == len(chunk):
                check(handle, rows)
            if progress is not None:
                progress(rows)
    finally:
        if writer is not None:
            writer.close()
    return rows


class _SizeCheck:
    """Refuse, after the first chunk, an output file that would be too large."""

    def __init__(self, out: Path, total_rows: int, max_bytes: int | None) -> None:
        self.out, self.total_rows, self.max_bytes = out, total_rows, max_bytes
        self.regular = is_regular_output(out)
        self.free = free_space(out) if self.regular else None

    def __call__(self, handle: IO[bytes], rows: int) -> None:
        if not self.regular or rows >= self.total_rows:
            return
        handle.flush()
        written = handle.tell()
        per_row = written / max(rows, 1)
        estimate = per_row * self.total_rows
        measured = (
            f"-n {self.total_rows:,} rows would write about {format_bytes(estimate)} to "
            f"'{self.out}' ({per_row:,.0f} bytes a row, measured on the first {rows:,})"
        )
        if self.max_bytes is not None and estimate > self.max_bytes:
            raise DataError(
                f"{measured}, more than the limit of {format_bytes(self.max_bytes)}. Draw fewer "
                "rows, or raise the limit (CLI: --max-bytes; Python: max_bytes=)."
            )
        if self.free is not None and estimate > self.free:
            raise DataError(
                f"{measured}, but only {format_bytes(self.free)} are free on its disk. Draw "
                "fewer rows or write elsewhere."
            )
