"""PTGANSynthesizer: the Parallelly Tempered GAN for tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar, Literal

import pandas as pd
import torch

from fairsynth.exceptions import ParameterError
from fairsynth.models._constraints import Constraint, Interval, Options
from fairsynth.models._ptgan_sampling import PTGANSampling
from fairsynth.models._rows import Rows
from fairsynth.models._tempered import TemperedSteps
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.callbacks import Callback
from fairsynth.models.checkpoint import Checkpoint
from fairsynth.models.conditioning import CategorySampler
from fairsynth.models.privacy import (
    check_privacy,
    resolve_privacy,
)
from fairsynth.models.private_fit import transform_budget
from fairsynth.models.refine import FitRefiner, Refiner, resolve_refine
from fairsynth.nn.losses import LOSSES, get_loss
from fairsynth.nn.nets import Critic, Generator, WeightAverage
from fairsynth.transform import TableTransformer

__all__ = ["PTGANSynthesizer"]


_POSITIVE_INTEGER: list[Constraint] = [Interval(Integral, 1, None)]
_WEIGHT: list[Constraint] = [Interval(Real, 0, None)]


class PTGANSynthesizer(TemperedSteps, PTGANSampling, BaseSynthesizer):
    """Synthetic tables from a Parallelly Tempered GAN (Sohn & Song, arXiv 2411.11786).

    The generator learns the data and a family of tempered laws at once: convex mixtures
    ``a x1 + (1 - a) x2`` of pairs of real rows, labelled by the temperature
    ``t = 1 - 2 |a - 1/2|``. A coherency penalty keeps the critic's slope small along the line
    joining each pair, which steadies the critic's gradients on multimodal data. Samples are
    drawn at temperature 0, the data itself. Rows are mapped to vectors by a reversible
    transform (mode-specific normalisation of numbers, one-hot categories).

    Parameters
    ----------
    discrete_columns : list of str, optional
        Columns to model as categories; inferred from dtypes when None (text, category and
        boolean columns are discrete).
    epochs : int, 'auto' or None, default='auto'
        Passes over the data (an epoch is ``n_rows // batch_size`` steps). 'auto' trains for
        6,000 optimisation steps whatever the table's size, or stops from 5,250 on once its
        rows stop getting harder to tell from real ones (:class:`~fairsynth.models.stopping.
        Convergence`, a check of 2,500 rows every 750 steps, flat at two in a row;
        ``convergence_`` says what it saw; not under ``privacy``, nor on tables of fewer than
        2,500 rows). None trains until ``time_budget`` runs out.
    time_budget : float or None, default=None
        Stop after this many seconds of training even if epochs remain.
    batch_size : int, default=500
        Rows (pairs) per step.
    noise_dim : int, default=128
        Size of the generator's noise.
    generator_dims, critic_dims : tuple of int, default=(256, 256)
        Hidden widths (the generator's layers are residual blocks).
    temperature_ratio : float, default=0.9
        Share of rows kept at the data itself (mixing weight 1); the others get a uniform
        mixing weight. 1.0 turns tempering off.
    coherency_weight : float, default=20.0
        Weight of the coherency penalty on the critic (the paper's is 100). A lighter penalty
        keeps more of the pairwise structure; with the point masses below it took Adult's
        detection AUC from 0.944 to 0.801 (3 fits, docs/measurements.md).
    gradient_penalty_weight : float, default=0.0
        Weight of an ordinary WGAN-GP gradient penalty (the un-tempered ablation uses 10).
    interpolate_noise : bool, default=True
        Mix two noise vectors with the same weight as the rows they imitate.
    penalty_through_temperature : bool, default=False
        Differentiate the coherency slope through the temperature feature too.
    loss : {'wasserstein', 'non-saturating'}, default='wasserstein'
        Adversarial loss. Under 'non-saturating' the critic is a logistic discriminator.
    critic_steps : int, default=1
        Critic updates per generator update.
    learning_rate : float, default=1e-4
        Adam step size of both networks.
    betas : tuple of float, default=(0.0, 0.9)
        Adam moment coefficients.
    ema_decay : float or None, default=0.999
        Sample from a running average of the generator's weights: the mean of the iterates
        for the first ``1 / (1 - ema_decay)`` steps, then an exponential moving average that
        keeps ``ema_decay`` of itself each step (:class:`~fairsynth.nn.nets.WeightAverage`).
        None samples from the trained weights. On Adult it raised TSTR AUC and steadied
        Quality across seeds at no cost in time (docs/measurements.md).
    norm : {'batch', 'layer', 'none'}, default='batch'
        Normalisation in the generator's blocks.
    categorical_head : {'softmax', 'gumbel'}, default='softmax'
        Output activation of one-hot blocks (Gumbel-softmax collapsed the tempered model on
        Adult in our pilot; softmax is the default).
    pac : int, default=1
        PacGAN packing: the critic judges ``pac`` rows jointly.
    generator_heads : {'joint', 'columns'}, default='joint'
        How the generator's last layer makes a row: 'joint', one linear layer for all
        columns; 'columns', column by column, each column's block seeing the columns before it
        (and, when sampling, the values chosen for them), as autoregressive tabular models do
        (:class:`~fairsynth.nn.nets.ColumnHeads`; docs/measurements.md, "Indistinguishable
        rows").
    max_modes : int, default=10
        Most mixture modes of the mode-specific normalisation of a numeric column; 1 turns it
        into plain standardisation (the raw coordinates of the paper's toy problems).
    point_mass_share : float or None, default=0.05
        A numeric value held by at least this share of a column's rows (the zeros of
        capital-gain) gets a mode of its own that generates exactly that value; None models it
        as one more narrow Gaussian mode, as CTGAN does, so generated values scatter around it
        (:class:`~fairsynth.transform.TableTransformer`).
    point_mass_values : int or None, default=20
        A numeric column of at most this many distinct whole numbers (years of education, a
        count, a 1-5 rating) has every value as a mode of its own, generated exactly, as a
        category would be, while it stays a number; None leaves such columns to the mixture
        (and ``point_mass_share``), as CTGAN does.
    embed_categories_above : int or None, default=100
        A discrete column with more categories than this reaches the generator's residual
        layers, in training-by-sampling's condition, through a learned embedding of
        ``round(1.6 * k ** 0.56)`` numbers instead of its one-hot block
        (:mod:`fairsynth.nn.embedding`); its rows are still written, judged and decoded as
        one-hot categories. On Adult with an 849-category column: fit 534 -> 399 s, Quality
        and TSTR AUC unchanged (docs/scale.md). None keeps every block one-hot.
    training_by_sampling : bool or 'auto', default='auto'
        Condition each generated training row on one category of one discrete column, the
        category drawn by the log of its frequency, and judge it against a real row of that
        category (CTGAN's training-by-sampling, :class:`~fairsynth.models.conditioning.
        CategorySampler`); samples draw the category at its frequency in the data. Rare
        categories get more training without being over-generated, and ``sample`` takes
        ``conditions`` on a discrete column. 'auto' is True, or False under ``privacy`` (the
        category counts are not private).
    device : str, default='auto'
        'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'.
    n_threads : int or 'auto', default='auto'
        CPU threads torch may use inside ``fit`` and ``sample`` (the caller's setting is
        restored afterwards). Under 'auto' a fit takes one thread for small networks, else the
        cores idle when it starts, fixed for the fit (``n_threads_``); sampling sizes them to
        the work (docs/reliability.md, "Threads"). Results can differ in the last bits between
        thread counts: give a number to reproduce a fit exactly on a busy machine.
    fit_check : bool or 'auto', default='auto'
        After the fit, compare 5,000 generated rows with as many training rows (detection AUC,
        and the association of each strongly associated pair of columns) and warn with a
        :class:`~fairsynth.exceptions.FitCheckWarning` when they look failed
        (:mod:`fairsynth.models.fitcheck`); the result is ``fit_check_``. 'auto' checks fits of a
        minute or more, where it costs a few percent of the fit.
    refine : int or 'auto', default='auto'
        Pick each sampled row among this many candidates, by the odds of a classifier trained
        at the end of ``fit`` to tell training rows from generated ones (importance
        resampling, :mod:`fairsynth.models.refine`): rows a classifier would call generated
        are drawn less often, and without user conditions the rows drawn are calibrated to the
        training rows' margins (:mod:`fairsynth.models._draw`). Conditions and a fair model's
        cells keep their counts. 1 switches it off (sampling about 30 times faster); 'auto' is
        8, or 1 under ``privacy`` (the classifier reads the real rows). Changed after ``fit``
        (``set_params``) it applies to later samples; a model fit with 1 (or interrupted) has
        no classifier to draw by, and a number above 1 then warns and draws unrefined rows.
    random_state : int, RandomState, Generator or None
        Seed; with the same seed, data, device and ``n_threads_`` the result is identical.
    verbose : bool, default=True
        Show a progress bar.
    sample_batch_size : int, default=50_000
        Rows generated per chunk by ``sample``, bounding its memory.
    callbacks : list of Callback, optional
        Extra hooks into the training loop.
    checkpoint_dir : str or Path, optional
        Folder for checkpoints of the fit (written at most once a minute and when training
        stops); a fit with the same table and parameters resumes from its checkpoint there.
        For other intervals pass a :class:`~fairsynth.models.checkpoint.Checkpoint` in
        ``callbacks``.
        See docs/reliability.md.
    privacy : float, (float, float), dict or None, default=None
        Train the critic with DP-SGD to a target ``(epsilon, delta)``: ε alone (δ = 1/n²), a
        pair, or a dict with ``epsilon`` and optionally ``delta``, ``clip_norm`` (1.0),
        ``accountant`` ('rdp' or 'prv') and ``max_noise_multiplier`` (20)
        (:mod:`fairsynth.models.privacy`; needs opacus). The dict may also give ``metadata``,
        public descriptions of the columns (``{"age": {"bounds": [17, 90], "integer": True},
        "sex": {"categories": ["Female", "Male"]}}``), so that the transform reads nothing from
        the data; the categories and bounds of columns it does not describe are released with
        differential privacy, spending ``transform_share`` (0.25) of ε and δ (``transform``:
        'private'), or read from the data as given ('data': not covered, with a warning). The
        recipe that measured best under DP: :func:`~fairsynth.models.private_fit.private_recipe`.
        See docs/privacy.md.

    Attributes
    ----------
    transformer_ : TableTransformer
        The fitted reversible transform.
    generator_, critic_ : torch.nn.Module
        The trained networks.
    generator_ema_ : WeightAverage or None
        The averaged generator that ``sample`` uses (None when ``ema_decay`` is None).
    n_epochs_ : int or None
        Epochs planned (``epochs`` resolved, under 'auto' the most it may run; None under a
        time budget alone); ``history_`` has one record an epoch trained.
    convergence_ : dict or None
        Under ``epochs='auto'`` (without ``privacy``): ``checks`` (step, detection AUC of the
        model's own rows against training rows, seconds), ``converged`` (whether the rule
        stopped the fit), ``projected_fall`` (of the AUC over the next ``horizon`` steps, at
        the last check) and, on a table too small to stop on, ``too_few_rows``; else None.
    history_ : list of dict
        Mean losses per epoch, with elapsed seconds.
    fit_time_ : float
        Seconds spent in ``fit``.
    n_threads_ : int
        The CPU threads the fit used.
    fit_check_ : dict or None
        The end-of-fit check's result (None when it did not run).
    refiner_ : Refiner or None
        The classifier that ``refine`` draws by (None when ``refine`` is 1).
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Their names.
    stopped_reason_ : str
        Why training stopped: 'epochs', 'time_budget', 'callback' or 'interrupted' (Ctrl-C;
        the model is the one after the last completed step).
    checkpoint_path_, resumed_epochs_ : Path, int
        With a checkpoint only: its file, and how many epochs were restored from it.
    privacy_ : dict
        With ``privacy`` only: the ε spent (``epsilon``: DP-SGD's and the transform's, added
        up), δ, each part's ε and δ, where each column's layout came from, the noise multiplier,
        the sample rate, the steps planned and run, the clip norm and the accountant.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairsynth import PTGANSynthesizer
    >>> data = pd.DataFrame({"x": [0.1, 0.5, 0.9, 1.3] * 25, "c": ["a", "b"] * 50})
    >>> model = PTGANSynthesizer(epochs=2, batch_size=50, verbose=False, random_state=0)
    >>> model.fit(data).sample(3, random_state=0).columns.tolist()
    ['x', 'c']
    """

    _network_names = ("generator_", "critic_", "generator_ema_")
    _optimizer_names = ("_d_optimizer", "_g_optimizer")
    conditioner_: Any = None  # the conditioning object of a conditional model
    refiner_: Refiner | None = None  # the classifier that picks sampled rows (refine.py)
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "norm": [Options("batch", "layer", "none")],
        "categorical_head": [Options("softmax", "gumbel")],
        "loss": [Options(*LOSSES)],
        "temperature_ratio": [Interval(Real, 0, 1)],
        "coherency_weight": _WEIGHT,
        "gradient_penalty_weight": _WEIGHT,
        "ema_decay": [None, Interval(Real, 0, 1, closed="left")],
        "noise_dim": _POSITIVE_INTEGER,
        "critic_steps": _POSITIVE_INTEGER,
        "pac": _POSITIVE_INTEGER,
        "generator_heads": [Options("joint", "columns")],
        "refine": [Interval(Integral, 1, None), Options("auto")],
        "training_by_sampling": [Options(True, False, "auto")],
        "embed_categories_above": [None, Interval(Integral, 1, None)],
    }

    def __init__(
        self,
        *,
        discrete_columns: Sequence[str] | None = None,
        epochs: int | Literal["auto"] | None = "auto",
        time_budget: float | None = None,
        batch_size: int = 500,
        noise_dim: int = 128,
        generator_dims: tuple[int, ...] = (256, 256),
        critic_dims: tuple[int, ...] = (256, 256),
        temperature_ratio: float = 0.9,
        coherency_weight: float = 20.0,
        gradient_penalty_weight: float = 0.0,
        interpolate_noise: bool = True,
        penalty_through_temperature: bool = False,
        loss: Literal["wasserstein", "non-saturating"] = "wasserstein",
        critic_steps: int = 1,
        learning_rate: float = 1e-4,
        betas: tuple[float, float] = (0.0, 0.9),
        ema_decay: float | None = 0.999,
        norm: Literal["batch", "layer", "none"] = "batch",
        categorical_head: Literal["softmax", "gumbel"] = "softmax",
        pac: int = 1,
        generator_heads: Literal["joint", "columns"] = "joint",
        max_modes: int = 10,
        point_mass_share: float | None = 0.05,
        point_mass_values: int | None = 20,
        embed_categories_above: int | None = 100,
        training_by_sampling: bool | Literal["auto"] = "auto",
        device: str = "auto",
        n_threads: int | Literal["auto"] = "auto",
        fit_check: bool | Literal["auto"] = "auto",
        refine: int | Literal["auto"] = "auto",
        random_state: Any = None,
        verbose: bool = True,
        sample_batch_size: int = 50_000,
        callbacks: Sequence[Callback] | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        privacy: Any = None,
    ) -> None:
        self.discrete_columns = discrete_columns
        self.epochs = epochs
        self.time_budget = time_budget
        self.batch_size = batch_size
        self.noise_dim = noise_dim
        self.generator_dims = generator_dims
        self.critic_dims = critic_dims
        self.temperature_ratio = temperature_ratio
        self.coherency_weight = coherency_weight
        self.gradient_penalty_weight = gradient_penalty_weight
        self.interpolate_noise = interpolate_noise
        self.penalty_through_temperature = penalty_through_temperature
        self.loss = loss
        self.critic_steps = critic_steps
        self.learning_rate = learning_rate
        self.betas = betas
        self.ema_decay = ema_decay
        self.norm = norm
        self.categorical_head = categorical_head
        self.pac = pac
        self.generator_heads = generator_heads
        self.max_modes = max_modes
        self.point_mass_share = point_mass_share
        self.point_mass_values = point_mass_values
        self.embed_categories_above = embed_categories_above
        self.training_by_sampling = training_by_sampling
        self.device = device
        self.n_threads = n_threads
        self.fit_check = fit_check
        self.refine = refine
        self.random_state = random_state
        self.verbose = verbose
        self.sample_batch_size = sample_batch_size
        self.callbacks = callbacks
        self.checkpoint_dir = checkpoint_dir
        self.privacy = privacy

    # ------------------------------------------------------------------------- checks
    def _check_params(self) -> None:
        super()._check_params()
        if self.batch_size % self.pac:
            raise ParameterError(
                f"batch_size ({self.batch_size}) must be a multiple of pac ({self.pac})."
            )
        resolve_privacy(self.privacy)
        check_privacy(self)
        if self.privacy is not None and resolve_refine(self) > 1:
            raise ParameterError(
                f"refine={self.refine!r} with privacy: the refiner learns the real rows outside "
                "DP-SGD; give refine=1 (or 'auto', which is 1 under privacy)."
            )

    def _transformer_discrete(self) -> Sequence[str] | None:
        """The columns the transformer models as categories (a hook for subclasses)."""
        return self.discrete_columns

    def _validate_table(self, X: Any) -> pd.DataFrame:
        data = super()._validate_table(X)
        self._fit_rows = len(data)  # a private transform's δ (1/n² by default) needs n
        return data

    def _make_transformer(self, seed: int) -> TableTransformer:
        private: dict[str, Any] = {}
        if (settings := resolve_privacy(self.privacy)) is not None:  # docs/privacy.md
            budget = transform_budget(settings, self._fit_rows)
            private = {"metadata": settings.metadata, "private_statistics": budget}
        return TableTransformer(
            discrete_columns=self._transformer_discrete(),
            max_modes=self.max_modes,
            point_mass_share=self.point_mass_share,
            point_mass_values=self.point_mass_values,
            random_state=seed,
            **private,
        )

    @classmethod
    def _params_of_older_files(cls, transformer: TableTransformer) -> dict[str, Any]:
        return {
            "point_mass_share": transformer.point_mass_share,
            "point_mass_values": transformer.point_mass_values,
            "training_by_sampling": False,
            "generator_heads": "joint",
            "embed_categories_above": None,
            "privacy": None,
            "refine": 1,
        }

    def _fitted_state(self) -> dict[str, Any]:
        state = super()._fitted_state()
        if getattr(self, "privacy_", None) is not None:
            state["privacy_"] = self.privacy_
        if isinstance(self.conditioner_, CategorySampler):
            state["category_counts_"] = self.conditioner_.counts
        state["refiner_trees_"] = None if self.refiner_ is None else self.refiner_.get_state()
        return state

    def _set_fitted_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        counts = fitted.pop("category_counts_", None)
        refiner = fitted.pop("refiner_trees_", None)
        super()._set_fitted_state(fitted)
        self.refiner_ = None if refiner is None else Refiner(refiner)
        if counts is not None:
            blocks = self._category_blocks()
            self.conditioner_ = CategorySampler(blocks, self.device_).restore(counts)

    # ---------------------------------------------------------------------- networks
    def _build(self, data: Rows) -> None:
        spans = self.transformer_.spans_
        embedded = self._embedded_blocks()
        self.generator_ = Generator(
            self.noise_dim + self._condition_width(), self.generator_dims, spans, norm=self.norm,
            categorical=self.categorical_head, heads=self.generator_heads,
            embedded_inputs=embedded["condition"], embedded_outputs=embedded["output"],
        ).to(self.device_)  # fmt: skip
        critic = Critic(data.shape[1], self.critic_dims, pac=self.pac, embedded=embedded["critic"])
        self.critic_ = critic.to(self.device_)
        self.generator_ema_: WeightAverage | None = None
        if self.ema_decay is not None:
            self.generator_ema_ = WeightAverage(self.generator_, float(self.ema_decay))
        betas = (float(self.betas[0]), float(self.betas[1]))
        self._g_optimizer = torch.optim.Adam(
            self.generator_.parameters(), lr=self.learning_rate, betas=betas, foreach=True
        )
        self._d_optimizer = torch.optim.Adam(
            self.critic_.parameters(), lr=self.learning_rate, betas=betas, foreach=True
        )
        self._loss = get_loss(self.loss)

    def _collect_callbacks(self) -> list[Callback]:
        callbacks = super()._collect_callbacks()
        self.refiner_ = None  # a refit's rows are not the last fit's
        if resolve_refine(self) > 1:  # trained as training ends, before a checkpoint is written
            at = next((i for i, c in enumerate(callbacks) if isinstance(c, Checkpoint)), None)
            callbacks.insert(len(callbacks) if at is None else at, FitRefiner())
        return callbacks

    def _watches_convergence(self) -> bool:
        # not under privacy (the checks read real rows outside DP-SGD, whose noise is set for a
        # known number of steps), nor across processes (each holds a shard of the rows)
        return self.epochs == "auto" and self.privacy is None and self._parallel is None

    def _check_fit(self, data: pd.DataFrame, seed: int) -> None:
        if self.privacy is None:
            return super()._check_fit(data, seed)
        self.fit_check_ = None  # it compares with real rows and is saved: not private
