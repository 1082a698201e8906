"""Sampling in chunks, shared by every synthesizer: ``sample``, ``iter_samples``.

A mixin of :class:`~fairsynth.models.base.BaseSynthesizer`; it calls the model's steps
``_check_fitted``, ``_plan_sample``, ``_generate``, ``_networks`` and ``_work``. A model that
picks its rows otherwise (PTGAN among candidates) overrides ``_draw_rows``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from fairsynth.models._checks import check_n_samples, check_sample_memory, draw_seed
from fairsynth.models.ranges import filtered_chunks, split_conditions
from fairsynth.models.threads import resolve_threads, torch_threads

__all__ = ["Sampling"]

# A sampled chunk holds at most this many cells of the transformed matrix (float32, 36 MB; a
# column's block at a time becomes float64 while decoding), so a table with thousands of
# categories still streams in bounded memory. Adult's 169 outputs give 55,841 rows, so its chunks
# stay the sample_batch_size's 50,000 rows; the 42-column wide table's 734 give 12,857
_MAX_CHUNK_CELLS = 9 * 2**20

_Mixin: Any = Any if TYPE_CHECKING else object


class Sampling(_Mixin):
    """``sample`` and ``iter_samples`` of a fitted synthesizer, chunk by chunk."""

    def iter_samples(
        self,
        n_samples: int,
        *,
        chunk_size: int | None = None,
        random_state: Any = None,
        **options: Any,
    ) -> Iterator[pd.DataFrame]:
        """Yield ``n_samples`` synthetic rows in chunks of at most ``chunk_size`` rows.

        Memory stays bounded by the chunk size, so any number of rows can be streamed to disk.
        A chunk also holds at most 9 * 2**20 cells of the transformed matrix, so a table with
        thousands of categories gets chunks of fewer rows. ``options`` are those of the
        model's :meth:`sample` (the fairness knob of a fair model); they are checked here,
        before the first chunk.
        """
        self._check_fitted()
        total = check_n_samples(n_samples)
        chunk = check_n_samples(chunk_size or self.sample_batch_size)
        chunk = min(chunk, max(1, _MAX_CHUNK_CELLS // max(1, self.transformer_.output_dim_)))
        if options.get("conditions") is not None:  # numeric ones are met by keeping rows
            filters, rest = split_conditions(options.pop("conditions"), self.transformer_)
            if rest is not None:
                options["conditions"] = rest
            if filters:
                return filtered_chunks(self, total, chunk, filters, random_state, options)
        plan, net_state = self._plan_sample(total, random_state, **options)
        return self._chunks(total, chunk, plan, draw_seed(net_state))

    def _chunks(self, total: int, chunk: int, plan: Any, seed: int) -> Iterator[pd.DataFrame]:
        generator = torch.Generator(device=self.device_).manual_seed(seed)
        threads = resolve_threads(self.n_threads, self._work(chunk))
        networks = list(self._networks().values())
        modes = [net.training for net in networks]
        for net in networks:
            net.eval()
        try:
            done = 0
            while done < total:
                size = min(chunk, total - done)
                yield self._draw_rows(size, generator, plan, threads)
                done += size
        finally:
            for net, mode in zip(networks, modes, strict=True):
                net.train(mode)

    def _draw_rows(
        self, n_rows: int, generator: torch.Generator, plan: Any, threads: int
    ) -> pd.DataFrame:
        """``n_rows`` decoded rows of a sample (a hook: PTGAN picks them among candidates)."""
        with torch.no_grad(), torch_threads(threads):
            rows = self._generate(n_rows, generator, plan).cpu().numpy()
        return self.transformer_.inverse_transform(rows)

    def sample(self, n_samples: int, *, random_state: Any = None, **options: Any) -> pd.DataFrame:
        """Draw synthetic rows.

        Parameters
        ----------
        n_samples : int
            Number of rows, at least 1.
        random_state : int, numpy Generator/RandomState or None
            Seed for the draw; the same seed gives the same rows.
        **options
            The model's sampling options: ``conditions={"column": value}`` (or a DataFrame of
            one row per wanted row) for a model trained to be conditioned
            (fairsynth.models.conditions), the fairness knob of a fair model.

        Returns
        -------
        pandas.DataFrame
            The same columns, in the same order and with the same dtypes as the training table.

        Raises
        ------
        ParameterError
            If ``n_samples`` is not a positive integer, or the rows would not fit in the memory
            available (estimated from the first chunk): stream them with :meth:`iter_samples`.
        """
        chunks: list[pd.DataFrame] = []
        for chunk in self.iter_samples(n_samples, random_state=random_state, **options):
            if not chunks:
                check_sample_memory(int(n_samples), chunk)
            chunks.append(chunk)
        return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
