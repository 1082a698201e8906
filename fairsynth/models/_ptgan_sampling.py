"""PTGAN's sampling side: what it is conditioned on, and how a chunk of rows is generated.

A mixin of :class:`~fairsynth.models.ptgan.PTGANSynthesizer` (and so of the fair variant),
apart from its parameters and training step (``_tempered.py``): the conditioning object of a
conditional model (:mod:`fairsynth.models.conditioning`), the plan of a sample (user
conditions, a fair model's cells), the generator that samples (the weight average), and the
candidates that importance resampling picks from (:mod:`fairsynth.models.refine`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from fairsynth.models._checks import random_state_of
from fairsynth.models._rows import Rows
from fairsynth.models.conditioning import CategorySampler, ConditionQueue
from fairsynth.models.conditions import condition_table, sampler_positions
from fairsynth.models.refine import refined_rows, resolve_refine
from fairsynth.transform import OutputSpan

__all__ = ["PTGANSampling"]

# The mixin uses PTGANSynthesizer's parameters and networks and BaseSynthesizer's sampling
# loop; the type checker sees them through the synthesizer classes (as for _tempered.py).
_Mixin: Any = Any if TYPE_CHECKING else object


class PTGANSampling(_Mixin):
    """Conditioning and sampling steps of PTGAN (see the module docstring)."""

    # ------------------------------------------------------------------ conditioning
    def _category_spans(self) -> list[OutputSpan]:
        """The output span of each discrete column's categories (two or more of them)."""
        discrete = set(self.transformer_.discrete_columns_)
        return [
            span
            for span in self.transformer_.spans_
            if span.column in discrete and span.kind == "onehot" and span.width > 1
        ]

    def _category_blocks(self) -> list[tuple[int, int]]:
        return [(span.start, span.width) for span in self._category_spans()]

    def _wide_blocks(self) -> list[tuple[int, int]]:
        """(start, width) of the category blocks wider than ``embed_categories_above``."""
        above = self.embed_categories_above
        blocks = self._category_blocks()
        return [] if above is None else [(s, width) for s, width in blocks if width > above]

    def _embedded_blocks(self) -> dict[str, list[tuple[int, int]]]:
        """Where the networks read wide category blocks through an embedding, as (start,
        width): in the generator's training-by-sampling condition ('condition'). A row's
        blocks stay one-hot, in the generator's output layer ('output') and for the critic
        ('critic'): embedded there too, they cost Quality and pair trends
        (docs/scale.md, "Columns with hundreds of categories")."""
        wide, condition = set(self._wide_blocks()), []
        if wide and isinstance(self.conditioner_, CategorySampler):  # (a fair model's cells
            at = self.noise_dim  # are few) the condition follows the noise, block by block
            for block in self.conditioner_.blocks:
                if block in wide:
                    condition.append((at, block[1]))
                at += block[1]
        return {"condition": condition, "output": [], "critic": []}

    def _by_sampling(self) -> bool:
        """``training_by_sampling``, where 'auto' is True but under ``privacy``."""
        if self.training_by_sampling == "auto":
            return self.privacy is None
        return bool(self.training_by_sampling)

    def _fit_conditions(self, data: Rows) -> None:
        self.conditioner_ = None
        if self._by_sampling() and (blocks := self._category_blocks()):
            self.conditioner_ = CategorySampler(blocks, self.device_).fit(data)

    def _end_training(self) -> None:
        super()._end_training()
        if self.conditioner_ is not None:
            self.conditioner_.release()

    def _plan_sample(
        self, n_samples: int, random_state: Any, *, conditions: Any = None, **options: Any
    ) -> tuple[Any, Any]:
        plan, net_state = super()._plan_sample(n_samples, random_state, **options)
        if self.conditioner_ is None and conditions is None:
            return plan, net_state
        if conditions is not None:
            table = condition_table(conditions, n_samples, list(self.feature_names_in_))
            positions = sampler_positions(
                self.conditioner_, self._category_spans(), self.transformer_, table,
                one_for_all=not isinstance(conditions, pd.DataFrame),
            )  # fmt: skip
            queue = ConditionQueue(positions)
        rng = random_state_of(random_state)
        plan_seed, net_seed = (int(v) for v in rng.randint(np.iinfo(np.int32).max, size=2))
        return (np.random.default_rng(plan_seed) if conditions is None else queue), net_seed

    def _condition_width(self) -> int:
        """Width of the condition appended to the generator's noise (0 without one)."""
        return 0 if self.conditioner_ is None else self.conditioner_.width

    def _sampler(self) -> torch.nn.Module:
        """The generator that ``sample`` runs: the averaged one when there is one."""
        return self.generator_ if self.generator_ema_ is None else self.generator_ema_

    def _generate(self, n_rows: int, generator: torch.Generator, plan: Any) -> Tensor:
        return self._candidates(n_rows, 1, generator, plan)[0]

    def _candidates(
        self, n_rows: int, k: int, generator: torch.Generator, plan: Any
    ) -> tuple[Tensor, np.ndarray, np.ndarray]:
        """``k`` generated rows for each of ``n_rows``, the condition group of each, and a
        log-weight each candidate carries before any classifier looks at it.

        Row ``j * n_rows + i`` is candidate ``j`` of row ``i``, on its condition. A
        training-by-sampling model refining a sample without user conditions draws each
        candidate its own condition, by the log of its frequency as in training, so that rare
        categories are among the candidates; all candidates then form one group, and each
        carries the log-ratio of its condition's chance in a sample to that in the draw.
        """
        size = k * n_rows
        noise = torch.randn((size, self.noise_dim), generator=generator, device=self.device_)
        zeros = torch.zeros((size, 1), device=self.device_)
        conditioner, none = self.conditioner_, np.zeros(size)
        if conditioner is None:
            return self._sampler()(noise, zeros), np.zeros(size, dtype=np.int64), none
        if k > 1 and self._calibrates(plan):
            condition = conditioner.sample_conditions(plan, size, spread=True)
            groups = np.zeros(size, dtype=np.int64)
            prior = conditioner.spread_log_ratio(condition).cpu().numpy().astype(np.float64)
        else:
            condition = conditioner.sample_conditions(plan, n_rows)
            groups = torch.unique(condition, dim=0, return_inverse=True)[1].repeat(k).cpu().numpy()
            condition, prior = condition.repeat(k, 1), none
        rows = self._sampler()(torch.cat([noise, condition], 1), zeros)
        return conditioner.paste(rows, condition), groups, prior

    def _calibrates(self, plan: Any) -> bool:
        """Whether a sample's conditions follow the data's own frequencies, so that its refined
        rows can be calibrated to the training margins: none, or training-by-sampling's drawn
        at their frequencies; not a user's conditions, nor a fair model's cells (the knob
        moves their counts)."""
        return plan is None or isinstance(plan, np.random.Generator)

    def _refiner_cells(self) -> list[str] | None:
        """Columns whose cells the refiner calibrates one by one (a fair model's); None."""
        return None

    def _draw_rows(
        self, n_rows: int, generator: torch.Generator, plan: Any, threads: int
    ) -> pd.DataFrame:
        k = resolve_refine(self)
        fitting = bool(getattr(self, "_active_callbacks", None))  # the fit's own samples
        if self.refiner_ is None and k > 1 and self.refine != "auto" and not fitting:
            warnings.warn(
                f"refine={self.refine!r} asks for {k} candidates a row, but this model has no "
                "refiner (fit with refine=1, or an interrupted fit): its rows are drawn "
                "unrefined. Set refine=1 or 'auto' to say so.",
                UserWarning,
                stacklevel=6,
            )
        if self.refiner_ is None or k < 2:
            return super()._draw_rows(n_rows, generator, plan, threads)
        return refined_rows(self, n_rows, generator, plan, threads, k)
