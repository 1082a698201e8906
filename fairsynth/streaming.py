"""Write a stream of DataFrame chunks to one CSV or Parquet file, atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from fairsynth.exceptions import DataError
from fairsynth.io import atomic_output

__all__ = ["write_chunks"]


def write_chunks(chunks: Iterable[pd.DataFrame], path: str | os.PathLike[str]) -> int:
    """Write ``chunks`` one after another to ``path``; return the number of rows.

    Only one chunk is in memory at a time. The file appears only when every chunk is written
    (a failure or Ctrl-C leaves no partial file). The format follows the suffix: ``.parquet``
    (needs pyarrow), anything else CSV.
    """
    out = Path(path)
    rows = 0
    with atomic_output(out) as tmp:
        if out.suffix.lower() == ".parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise DataError(
                    "Writing Parquet needs pyarrow: pip install 'fairsynth[parquet]'."
                ) from None
            writer = None
            try:
                for chunk in chunks:
                    table = pa.Table.from_pandas(chunk, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                    rows += len(chunk)
            finally:
                if writer is not None:
                    writer.close()
        else:
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                for index, chunk in enumerate(chunks):
                    chunk.to_csv(handle, index=False, header=index == 0)
                    rows += len(chunk)
    return rows
