"""Sampling as a map over partitions: the same rows whatever the number of workers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairsynth import ParameterError
from fairsynth.models.partitions import partition_meta, partition_sizes, sample_partition


@pytest.fixture(scope="module")
def model_file(fitted_small, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    return fitted_small.save(tmp_path_factory.mktemp("model") / "m.fairsynth")


def test_partitions_split_evenly_and_reproduce(model_file: Path) -> None:
    assert partition_sizes(10, 3) == [4, 3, 3]
    options = {"model": model_file, "n_rows": 10, "n_partitions": 3, "seed": 7}
    parts = [sample_partition(i, **options) for i in range(3)]
    assert [len(p) for p in parts] == [4, 3, 3]
    assert list(pd.concat(parts).index) == list(range(10))
    pd.testing.assert_frame_equal(sample_partition(1, **options), parts[1])  # recomputed
    assert len(sample_partition(1, **options, n_threads=1)) == 3  # a worker's share of cores
    assert not parts[1].reset_index(drop=True).equals(parts[2].reset_index(drop=True))
    assert list(partition_meta(model_file).columns) == list(parts[0].columns)


@pytest.mark.parametrize(
    ("index", "n_rows", "n_partitions", "message"),
    [(3, 10, 3, "index must be from 0 to 2"), (0, 0, 3, "n_rows must be a positive integer"),
     (0, 2, 3, r"n_partitions \(3\) must not exceed n_rows \(2\)"),
     (0, 10, 0, "n_partitions must be a positive integer")],
)  # fmt: skip
def test_bad_partitions_are_named(
    model_file: Path, index: int, n_rows: int, n_partitions: int, message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        sample_partition(index, model=model_file, n_rows=n_rows, n_partitions=n_partitions, seed=0)


def test_a_local_dask_cluster_writes_the_same_rows_with_one_or_two_workers(
    model_file: Path, tmp_path: Path
) -> None:
    dd = pytest.importorskip("dask.dataframe", reason="dask is in the dev extra")
    distributed = pytest.importorskip("distributed", reason="distributed is in the dev extra")
    options = {"model": str(model_file), "n_rows": 3000, "n_partitions": 6, "seed": 1}
    written = []
    for workers in (1, 2):
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, distributed.Client(cluster):
            frame = dd.from_map(
                sample_partition, range(6), meta=partition_meta(model_file), **options
            )
            frame.to_parquet(tmp_path / f"w{workers}")
        written.append(pd.read_parquet(tmp_path / f"w{workers}"))
    assert len(written[0]) == 3000
    pd.testing.assert_frame_equal(written[0], written[1])
    direct = pd.concat([sample_partition(i, **options) for i in range(6)])
    # dask stores text columns as pandas' string dtype: the values are what must match
    pd.testing.assert_frame_equal(
        written[0].reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False
    )
