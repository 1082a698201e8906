"""Sampling past one machine: a map over partitions on an existing engine (Dask, Spark).

A model file is small, and sampling needs no data: ``n`` rows split into ``k`` partitions are
``k`` independent calls of :func:`sample_partition`, each seeded from ``(seed, partition)``, so
the rows are the same whatever the number of workers, the order they run in, or a partition
recomputed after a worker died.

Dask::

    import dask.dataframe as dd
    from fairsynth.models.partitions import partition_meta, sample_partition

    k = 1000
    frame = dd.from_map(sample_partition, range(k), model="adult.fairsynth",
                        n_rows=10**9, n_partitions=k, seed=0,
                        meta=partition_meta("adult.fairsynth"))
    frame.to_parquet("synthetic/")

Spark (``mapInPandas``)::

    def rows(batches):
        for batch in batches:
            for index in batch["id"]:
                yield sample_partition("adult.fairsynth", int(index),
                                       n_rows=10**9, n_partitions=1000, seed=0)

    spark.range(1000).mapInPandas(rows, schema).write.parquet("synthetic/")
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairsynth.exceptions import ParameterError

__all__ = ["partition_meta", "partition_seed", "partition_sizes", "sample_partition"]


def partition_sizes(n_rows: int, n_partitions: int) -> list[int]:
    """Rows of each partition: ``n_rows`` split as evenly as possible, larger ones first."""
    _check_count("n_rows", n_rows)
    _check_count("n_partitions", n_partitions)
    base, extra = divmod(int(n_rows), int(n_partitions))
    return [base + (i < extra) for i in range(int(n_partitions))]


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}.")


def partition_seed(seed: int, index: int) -> int:
    """The sampling seed of partition ``index`` of a sample seeded ``seed`` (numpy's
    SeedSequence of both, so neighbouring partitions' streams are independent)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


@lru_cache(maxsize=4)
def _load(path: str, stamp: tuple[int, int], device: str, n_threads: int | str) -> Any:
    from fairsynth.models.base import BaseSynthesizer

    return BaseSynthesizer.load(path, device=device, n_threads=n_threads)


def _model(model: Any, device: str, n_threads: int | str = "auto") -> Any:
    """A fitted model, or the model file at ``model`` loaded once per process and file version."""
    if isinstance(model, (str, os.PathLike)):
        info = Path(model).stat()
        return _load(os.fspath(model), (info.st_mtime_ns, info.st_size), device, n_threads)
    return model


def sample_partition(
    index: int,
    *,
    model: Any,
    n_rows: int,
    n_partitions: int,
    seed: int,
    device: str = "cpu",
    n_threads: int | str = "auto",
    **options: Any,
) -> pd.DataFrame:
    """The rows of partition ``index`` of an ``n_rows``-row sample split into ``n_partitions``.

    Parameters
    ----------
    index : int
        Which partition, from 0 to ``n_partitions - 1`` (first, so that ``dask.dataframe.
        from_map`` can map it).
    model : path or fitted synthesizer
        A model file (loaded once per process) or a fitted model.
    n_rows, n_partitions : int
        The whole sample's size and how it is split (:func:`partition_sizes`).
    seed : int
        The whole sample's seed; the partition draws with :func:`partition_seed`.
    device : str, default='cpu'
        Where a model file's networks go.
    n_threads : int or 'auto', default='auto'
        A model file's CPU threads: give each worker its share of a machine's cores (1 for as
        many workers as cores), and every worker the same, since the last bits of a row can
        differ between thread counts.
    **options
        The model's sampling options (``fairness=`` of a fair model). A fair model's cell
        counts are exact within each partition, so over the whole sample too up to one row per
        cell and partition.

    Returns
    -------
    DataFrame
        The partition's rows, its index continuing the partitions before it.
    """
    start, stop = _bounds(index, n_rows, n_partitions)
    rows = _model(model, device, n_threads).sample(
        stop - start, random_state=partition_seed(seed, index), **options
    )
    rows.index = pd.RangeIndex(start, stop)
    return rows


def _bounds(index: int, n_rows: int, n_partitions: int) -> tuple[int, int]:
    """First and last-plus-one row of partition ``index`` (as :func:`partition_sizes` splits)."""
    _check_count("n_rows", n_rows)
    _check_count("n_partitions", n_partitions)
    if n_partitions > n_rows:
        raise ParameterError(
            f"n_partitions ({n_partitions:,}) must not exceed n_rows ({n_rows:,})."
        )
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ParameterError(f"index must be an integer, got {index!r}.")
    if not 0 <= index < n_partitions:
        raise ParameterError(f"index must be from 0 to {n_partitions - 1}, got {index}.")
    base, extra = divmod(int(n_rows), int(n_partitions))
    start = int(index) * base + min(int(index), extra)
    return start, start + base + (index < extra)


def partition_meta(model: Any, device: str = "cpu") -> pd.DataFrame:
    """An empty frame with the sample's columns and dtypes (Dask's ``meta``)."""
    return _model(model, device).sample(1, random_state=0).iloc[:0]
