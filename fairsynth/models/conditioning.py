"""The conditioning object: cells of some category blocks of the transformed matrix.

A :class:`Conditioner` is fitted once on the transformed training matrix and the output spans of
its conditioning columns (one one-hot block each; the last block is the outcome). It owns what
conditioning needs, in one place:

- the cells (each observed combination of the groups, times the outcome's categories), their
  real row counts and the index of the rows by cell;
- the training draws: real rows uniformly or by per-row weights (``outcome_balance``), the second
  row of a tempered pair (any row, or one of the same cell), and the conditions of generated
  rows, mixed like the rows they imitate;
- the condition codes of a cell, and pasting a condition into generated rows, so that a row
  generated for a cell carries exactly that cell's values;
- the plan of a sample, :class:`CellPlan`: how many rows each cell gets, handed out chunk by
  chunk so that a streamed sample keeps the totals exactly. It travels explicitly from
  ``iter_samples`` to ``_generate``; the model keeps no sampling state.

Its model-file state is the groups and the cell counts (``group_index``, ``counts``): the rows
by cell are training state only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from fairsynth.models._rows import Rows, block_codes, columns
from fairsynth.nn.tempering import interpolate

__all__ = ["CategorySampler", "CellPlan", "ConditionQueue", "Conditioner"]

_MULTINOMIAL_LIMIT = 2**24  # torch.multinomial's most categories
_HYPERGEOMETRIC_LIMIT = 10**9  # numpy's multivariate_hypergeometric's most rows


class CellPlan:
    """The cells of a sample's rows, handed out chunk by chunk without replacement.

    Parameters
    ----------
    counts : array of int, shape (n_cells,)
        Rows each cell gets over the whole sample (e.g. from
        :func:`fairsynth.models.knob.allocate`).
    rng : numpy Generator
        Draws which of the remaining rows a chunk takes, and their order.
    """

    def __init__(self, counts: np.ndarray, rng: np.random.Generator) -> None:
        self.remaining = np.asarray(counts, dtype=np.int64).copy()
        self.rng = rng

    def take(self, size: int) -> np.ndarray:
        """The cells of the next ``size`` rows (a hypergeometric share of what remains)."""
        total = int(self.remaining.sum())
        if size >= total:
            chosen = self.remaining.copy()
        elif total < _HYPERGEOMETRIC_LIMIT:
            chosen = self.rng.multivariate_hypergeometric(self.remaining, size)
        else:  # numpy's exact draw stops there; a chunk is then a tiny share: multinomial
            chosen = np.zeros_like(self.remaining)
            while (short := size - int(chosen.sum())) > 0:  # a cell overdrawn: draw again
                spare = self.remaining - chosen
                chosen += np.minimum(self.rng.multinomial(short, spare / spare.sum()), spare)
        self.remaining -= chosen
        return self.rng.permutation(np.repeat(np.arange(len(chosen)), chosen))


class ConditionQueue:
    """A user's conditions, one code per wanted row (or one code for every row), in order.

    The codes are what the model's conditioner reads: cells for :class:`Conditioner`,
    positions in the condition vector for :class:`CategorySampler`.
    """

    def __init__(self, codes: np.ndarray | int) -> None:
        self.codes = codes
        self.done = 0

    def take(self, size: int) -> np.ndarray:
        """The codes of the next ``size`` rows."""
        if isinstance(self.codes, (int, np.integer)):
            return np.full(size, int(self.codes), dtype=np.int64)
        self.done += size
        return self.codes[self.done - size : self.done]


class Conditioner:
    """Cells of one-hot blocks of a transformed matrix: counts, rows by cell, draws and codes.

    Parameters
    ----------
    blocks : sequence of (start, width)
        The output span of each conditioning column's one-hot block; the last is the outcome,
        the others define the groups.
    device : torch.device
        Where the index and the codes live.
    across : bool, default=True
        Draw the two rows of a tempered pair from any cells (their conditions mixed like the
        rows), or both from one cell.

    Attributes
    ----------
    group_index : list of list of int
        Each observed group: the category index of each group block.
    counts : list of list of int
        Real rows per group and outcome category, shape (n_groups, n_categories).
    """

    def __init__(
        self, blocks: Sequence[tuple[int, int]], device: torch.device, *, across: bool = True
    ) -> None:
        self.blocks = [(int(start), int(width)) for start, width in blocks]
        self.device, self.across = device, across
        index = [i for start, width in self.blocks for i in range(start, start + width)]
        self.index = torch.tensor(index, dtype=torch.long, device=device)
        self.group_index: list[list[int]] = []
        self.counts: list[list[int]] = []
        self._codes: Tensor | None = None
        self._row_weight: Tensor | None = None
        self._cell_weight: Tensor | None = None

    @property
    def width(self) -> int:
        """Width of a condition: the conditioning blocks' outputs."""
        return len(self.index)

    @property
    def n_categories(self) -> int:
        """Categories of the outcome (the last block)."""
        return self.blocks[-1][1]

    # ---------------------------------------------------------------------------- fitting
    def fit(self, data: Rows, *, outcome_balance: float = 0.0) -> Conditioner:
        """Learn the cells of ``data`` and index its rows by cell, for the training draws.

        ``outcome_balance`` in [0, 1] moves each group's outcome mix in the training draws
        towards equal shares, keeping the group's size:
        ``P_train(y | s) = (1 - b) P(y | s) + b / K`` over its ``K`` observed outcomes.
        """
        codes = block_codes(data, self.blocks)
        groups, group = torch.unique(codes[:, :-1], dim=0, return_inverse=True)
        cell = group * self.n_categories + codes[:, -1]
        sizes = torch.bincount(cell, minlength=len(groups) * self.n_categories)
        self.group_index = groups.tolist()
        self.counts = sizes.reshape(len(groups), self.n_categories).tolist()
        self.cell_of_row, self._size = cell, sizes
        self._order = torch.argsort(cell, stable=True)
        self._start = torch.cumsum(sizes, 0) - sizes
        self._row_weight = _balance_weights(
            sizes.reshape(len(groups), self.n_categories), cell, float(outcome_balance)
        )
        self._cell_weight = None
        self._conditions: Tensor | None = columns(data, self.index)
        self._codes = None
        return self

    def release(self) -> None:
        """Drop the training rows' conditions (training draws need :meth:`fit` again)."""
        self._conditions = None

    def restore(self, group_index: list[list[int]], counts: list[list[int]]) -> Conditioner:
        """Set the cells from a model file (enough to sample; training draws need :meth:`fit`)."""
        self.group_index = [[int(i) for i in g] for g in group_index]
        self.counts = [[int(n) for n in row] for row in counts]
        self._codes = None
        return self

    # ----------------------------------------------------------------- training draws
    def draw_rows(self, size: int, g: torch.Generator) -> Tensor:
        """Real rows for tempered pairs: uniformly, or by the ``outcome_balance`` weights."""
        if self._row_weight is None:
            return torch.randint(len(self.cell_of_row), (size,), generator=g, device=self.device)
        if len(self._row_weight) <= _MULTINOMIAL_LIMIT:
            return torch.multinomial(self._row_weight, size, replacement=True, generator=g)
        # torch.multinomial takes at most 2**24 categories: draw a cell, then a row within it
        if self._cell_weight is None:
            cells = torch.zeros(len(self._size), dtype=torch.float64, device=self.device)
            self._cell_weight = cells.index_add_(0, self.cell_of_row, self._row_weight.double())
        cell = torch.multinomial(self._cell_weight.float(), size, replacement=True, generator=g)
        return self.row_in(cell, g)

    def row_in(self, cell: Tensor, g: torch.Generator) -> Tensor:
        """A uniformly drawn real row of each cell of ``cell``."""
        within = (torch.rand(len(cell), generator=g, device=self.device) * self._size[cell]).long()
        within = torch.minimum(within, self._size[cell] - 1)
        return self._order[self._start[cell] + within]

    def draw_pairs(self, size: int, g: torch.Generator) -> tuple[Tensor, Tensor, None]:
        """Indices of the two real rows of ``size`` tempered pairs (and no key: see
        :meth:`condition_of`), across cells or within one."""
        first = self.draw_rows(size, g)
        if self.across:
            return first, self.draw_rows(size, g), None
        return first, self.row_in(self.cell_of_row[first], g), None

    def condition_of(self, rows: Tensor, key: None = None) -> Tensor:
        """The condition that (tempered) real rows carry: their conditioning blocks."""
        return rows[:, self.index]

    def mixed_conditions(self, weight: Tensor, g: torch.Generator) -> Tensor:
        """Conditions for generated tempered rows: those of real pairs, mixed by ``weight``."""
        first, second, _ = self.draw_pairs(len(weight), g)
        if self._conditions is None:
            raise RuntimeError("mixed_conditions after release(): fit the conditioner again")
        return interpolate(self._conditions[first], self._conditions[second], weight)

    # ---------------------------------------------------------------------------- sampling
    def codes(self, cells: Tensor) -> Tensor:
        """The condition of each cell in ``cells`` (one-hot codes of its group and outcome)."""
        if self._codes is None:
            n_groups, n_categories = len(self.group_index), self.n_categories
            offsets = np.cumsum([0] + [width for _, width in self.blocks])
            codes = np.zeros((n_groups * n_categories, int(offsets[-1])), dtype=np.float32)
            for group, index in enumerate(self.group_index):
                rows = slice(group * n_categories, (group + 1) * n_categories)
                for j, i in enumerate(index):
                    codes[rows, offsets[j] + i] = 1.0
                codes[rows, offsets[-2] : offsets[-1]] = np.eye(n_categories, dtype=np.float32)
            self._codes = torch.as_tensor(codes, device=self.device)
        return self._codes[cells]

    def sample_conditions(self, plan: CellPlan | ConditionQueue, n_rows: int) -> Tensor:
        """The conditions of the next ``n_rows`` rows of a sample: the codes of their cells."""
        return self.codes(torch.as_tensor(plan.take(n_rows), device=self.device))

    def paste(self, rows: Tensor, condition: Tensor) -> Tensor:
        """``rows`` with their conditioning blocks replaced by ``condition`` (exact cells)."""
        return rows.index_copy(1, self.index, condition)


def _balance_weights(sizes: Tensor, cell: Tensor, balance: float) -> Tensor | None:
    """Per-row draw weights for ``outcome_balance`` (None: draw rows uniformly)."""
    if balance == 0.0:
        return None
    counts = sizes.double()
    group_size = counts.sum(dim=1, keepdim=True)
    observed = (counts > 0).double()
    # outcome shares within each group, moved towards equal shares of the observed outcomes
    share = (1 - balance) * counts / group_size + balance * observed / observed.sum(
        dim=1, keepdim=True
    )
    per_row = torch.where(counts > 0, share * group_size / counts.clamp(min=1), 0.0)
    return per_row.flatten()[cell].float()


class CategorySampler:
    """Training-by-sampling over the category blocks (CTGAN's remedy for rare categories).

    Each training row is conditioned on one category block chosen uniformly and on one of its
    categories, drawn in proportion to the log of its frequency; the real row it is judged
    against has that category (Xu et al. 2019, "Modeling Tabular Data using Conditional GAN").
    A sample draws the category at its frequency in the data, so the rows keep the data's
    distribution while a rare category gets far more training than its share. Conditions live
    in the blocks' output coordinates; only the chosen block is filled (mixed like the rows for
    a tempered pair) and pasted into the generated row.

    Parameters
    ----------
    blocks : sequence of (start, width)
        The output span of each category block.
    device : torch.device
        Where the index and the draws live.

    Attributes
    ----------
    counts : list of list of int
        Real rows per category of each block (the model-file state).
    """

    def __init__(self, blocks: Sequence[tuple[int, int]], device: torch.device) -> None:
        self.blocks = [(int(start), int(width)) for start, width in blocks]
        self.device = device
        index = [i for start, width in self.blocks for i in range(start, start + width)]
        self.index = torch.tensor(index, dtype=torch.long, device=device)
        widths = torch.tensor([width for _, width in self.blocks], device=device)
        self._offsets = torch.cumsum(widths, 0) - widths
        self._last = widths - 1  # each block's last category
        self._block_of = torch.repeat_interleave(
            torch.arange(len(self.blocks), device=device), widths
        )
        self.counts: list[list[int]] = []

    @property
    def width(self) -> int:
        """Width of a condition: every category block's outputs."""
        return len(self.index)

    def fit(self, data: Rows) -> CategorySampler:
        """Count the categories and index the rows by (block, category).

        The training rows are kept by reference (never copied: the category columns of a
        200,000-row, 42-column table are half a gigabyte) until :meth:`release`.
        """
        category = block_codes(data, self.blocks)
        cell = (category + self._offsets).T.reshape(-1)  # block by block: n rows each
        sizes = torch.bincount(cell, minlength=self.width)
        rows = torch.arange(len(data), device=self.device).repeat(len(self.blocks))
        self._order: Tensor | None = rows[torch.argsort(cell, stable=True)]
        self._start, self._size = torch.cumsum(sizes, 0) - sizes, sizes
        self._data: Rows | None = data
        self._n_rows = len(data)
        starts = self._offsets.tolist()
        return self.restore(
            [sizes[o : o + w].tolist() for o, (_, w) in zip(starts, self.blocks, strict=True)]
        )

    def restore(self, counts: list[list[int]]) -> CategorySampler:
        """Set the category counts (a model file's state: enough to sample)."""
        self.counts = [[int(n) for n in row] for row in counts]
        padded = torch.zeros((len(self.blocks), max(w for _, w in self.blocks)), device=self.device)
        for b, row in enumerate(self.counts):
            padded[b, : len(row)] = torch.tensor(row, dtype=torch.float32)
        self._sample_p = padded / padded.sum(dim=1, keepdim=True)
        log = torch.where(padded > 0, torch.log1p(padded), 0.0)
        self._train_p = log / log.sum(dim=1, keepdim=True)
        self._train_cdf = torch.cumsum(self._train_p, dim=1)
        return self

    def _mask(self, block: Tensor) -> Tensor:
        return (self._block_of[None, :] == block[:, None]).float()

    def draw_pairs(self, size: int, g: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Pairs of real rows, the first of the drawn (block, category), and the blocks."""
        block = torch.randint(len(self.blocks), (size,), generator=g, device=self.device)
        # inverse CDF: one uniform a row (a category of zero chance is never the first CDF
        # entry above it); cheaper than torch.multinomial's exponential draws over every row
        cdf = self._train_cdf[block]
        uniform = torch.rand((size, 1), generator=g, device=self.device) * cdf[:, -1:]
        category = torch.searchsorted(cdf, uniform, right=True).squeeze(1)
        category = torch.minimum(category, self._last[block])  # u rounded up to the total
        cell = self._offsets[block] + category
        within = (torch.rand(size, generator=g, device=self.device) * self._size[cell]).long()
        within = torch.minimum(within, self._size[cell] - 1)
        if self._order is None:
            raise RuntimeError("draw_pairs after release(): fit the sampler again")
        first = self._order[self._start[cell] + within]
        second = torch.randint(self._n_rows, (size,), generator=g, device=self.device)
        return first, second, block

    def release(self) -> None:
        """Drop the reference to the training rows and their index by category (training
        draws need :meth:`fit` again; on the 200,000-row wide table the index is 46 MB)."""
        self._data = None
        self._order = None

    def condition_of(self, rows: Tensor, block: Tensor) -> Tensor:
        """The condition of tempered real rows: their values in the chosen block only."""
        return rows[:, self.index] * self._mask(block)

    def mixed_conditions(self, weight: Tensor, g: torch.Generator) -> Tensor:
        """Conditions for generated tempered rows: those of real pairs, mixed by ``weight``."""
        if self._data is None:
            raise RuntimeError("mixed_conditions after release(): fit the sampler again")
        first, second, block = self.draw_pairs(len(weight), g)
        mixed = interpolate(
            self._data[first].index_select(1, self.index),
            self._data[second].index_select(1, self.index),
            weight,
        )
        return mixed * self._mask(block)

    def position(self, block: int, category: np.ndarray) -> np.ndarray:
        """Where ``category`` of block ``block`` lies in the condition vector."""
        return int(self._offsets[block]) + np.asarray(category, dtype=np.int64)

    def sample_conditions(
        self, plan: np.random.Generator | ConditionQueue, n_rows: int, spread: bool = False
    ) -> Tensor:
        """Conditions of the next ``n_rows`` rows of a sample: a block uniformly, then one of
        its categories at its frequency in the data (``spread``: by the log of it, as in
        training); or the user's, from a ConditionQueue of positions (:meth:`position`)."""
        if isinstance(plan, ConditionQueue):
            condition = torch.zeros((n_rows, self.width), device=self.device)
            positions = torch.as_tensor(plan.take(n_rows), device=self.device)
            condition[torch.arange(n_rows, device=self.device), positions] = 1.0
            return condition
        p = (self._train_p if spread else self._sample_p).cpu().numpy().astype(np.float64)
        block = plan.integers(len(self.blocks), size=n_rows)
        cdf = np.cumsum(p[block], axis=1)
        u = plan.random(n_rows)[:, None] * cdf[:, -1:]
        category = np.minimum((cdf <= u).sum(axis=1), p.shape[1] - 1)
        condition = torch.zeros((n_rows, self.width), device=self.device)
        columns = self._offsets[torch.as_tensor(block, device=self.device)]
        columns = columns + torch.as_tensor(category, device=self.device)
        condition[torch.arange(n_rows, device=self.device), columns] = 1.0
        return condition

    def spread_log_ratio(self, condition: Tensor) -> Tensor:
        """log P(condition) in a sample over its probability when ``spread``: the weight that
        turns rows drawn on spread conditions back into rows of the data's frequencies."""
        ratio = torch.log(self._sample_p) - torch.log(self._train_p)
        flat = torch.nan_to_num(ratio, nan=0.0, posinf=0.0, neginf=0.0)
        widths = torch.tensor([w for _, w in self.blocks], device=self.device)
        within = torch.arange(len(self.index), device=self.device) - torch.repeat_interleave(
            self._offsets, widths
        )
        per_position = flat[self._block_of, within]
        return condition @ per_position

    def paste(self, rows: Tensor, condition: Tensor) -> Tensor:
        """``rows`` with the conditioned block of each row replaced by its condition."""
        per_block = torch.zeros((len(rows), len(self.blocks)), device=self.device)
        per_block.index_add_(1, self._block_of, condition)
        chosen = (per_block > 0)[:, self._block_of]
        return rows.index_copy(1, self.index, torch.where(chosen, condition, rows[:, self.index]))
