"""The eight-Gaussian ring study and the gradient-variance test of tempering.

``modes``
    Train each configuration (PTGAN, WGAN-GP with 1 and 5 critic steps, the ablations of
    benchmarks/registry.py) on the eight-Gaussian ring and record, every ``--every`` generator
    steps, the modes covered and the share of good samples (``fairsynth.toy.ring_coverage``),
    with the training seconds spent so far (sampling excluded).
``variance``
    The paper's claim that tempering lowers the variance of gradient estimates. Train with one
    configuration; at given steps freeze the weights and draw ``--batches`` minibatch
    gradients of the generator's and the critic's loss under each objective (tempered or not),
    without updating anything. The scale-free measure is trace(Cov g) / ||mean g||² over the
    minibatches: the noise of a gradient step relative to its signal.

Results are tidy CSV files in ``--out`` (default benchmarks/results/ring); a (configuration,
seed) already there with the same settings is skipped, so an interrupted study resumes.
``python -m benchmarks.summary`` adds them to docs/benchmarks.md.

Usage::

    python -m benchmarks.ring modes --seeds 0 1 2 --steps 3000
    python -m benchmarks.ring variance --seeds 0 1 2 --at 0 500 2000
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.registry import CONFIGS
from fairsynth.models.callbacks import Callback

__all__ = ["main", "mode_curve", "ring_markdown", "ring_model", "ring_table"]

OUT = Path(__file__).parent / "results" / "ring"
MODE_CONFIGS = ["ptgan", "wgan-gp", "wgan-gp-5", "ptgan-gp", "ptgan-no-noise-mix", "ptgan-r0.5",
                "ptgan-ns", "gan-ns-gp"]  # fmt: skip
OBJECTIVES = ["ptgan", "ptgan-gp", "wgan-gp"]
RING_ROWS, BATCH = 10_000, 100
# The paper's toy scale: small networks, small batches, 2-D noise.
RING_PARAMS = {"batch_size": BATCH, "generator_dims": (64, 64), "critic_dims": (64, 64),
               "noise_dim": 2, "verbose": False}  # fmt: skip
# The transform's parameters: 'raw' is one mode per column and no point masses (a plain rescaling).
TRANSFORMS: dict[str, dict[str, Any]] = {
    "raw": {"max_modes": 1, "point_mass_share": None, "point_mass_values": None},
    "modes": {},
}


def ring_table(seed: int) -> pd.DataFrame:
    from fairsynth.toy import make_ring

    return make_ring(RING_ROWS, random_state=seed)


def ring_model(
    config: str, seed: int, steps: int, callbacks: list[Any], transform: str, cls: Any = None
) -> Any:
    """PTGANSynthesizer with ``config``'s parameters at the toy's scale.

    ``transform='modes'`` keeps the table transform's mode-specific normalisation, which
    already splits each coordinate into its modes (an untrained generator covers most of the
    ring through it); ``'raw'`` (the paper's setting) allows one mode per column, a plain
    rescaling, so the networks must find the modes themselves. ``cls`` is PTGANSynthesizer or
    a subclass of it.
    """
    if cls is None:
        from fairsynth.models.ptgan import PTGANSynthesizer as cls

    epochs = max(1, -(-steps // (RING_ROWS // BATCH)))
    params = {**RING_PARAMS, **CONFIGS[config], **TRANSFORMS[transform], "epochs": epochs}
    return cls(random_state=seed, callbacks=callbacks, **params)


def _limit_threads(threads: int) -> None:
    # A benchmark process of its own: thread caps here never reach library code.
    import torch

    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- modes
class _Curve(Callback):
    """Callback: coverage of the ring every ``every`` generator steps (and at step 0)."""

    def __init__(self, every: int, n_samples: int, seed: int) -> None:
        self.every, self.n_samples, self.seed = every, n_samples, seed
        self.rows: list[dict[str, float]] = []
        self.steps, self.spent = 0, 0.0

    def _measure(self, model: Any, elapsed: float) -> None:
        from fairsynth.toy import ring_coverage

        tick = time.perf_counter()
        covered, good = ring_coverage(model.sample(self.n_samples, random_state=self.seed))
        self.rows.append({"Step": self.steps, "Train_Time": elapsed - self.spent,
                          "Modes_Covered": covered, "Good_Share": good})  # fmt: skip
        self.spent += time.perf_counter() - tick

    def on_fit_start(self, model: Any, total_epochs: int | None) -> None:
        self._measure(model, 0.0)

    def on_epoch_end(self, model: Any, record: dict[str, Any]) -> bool:
        self.steps += int(record["steps"])
        if self.steps % self.every == 0:
            self._measure(model, float(record["time"]))
        return False


def mode_curve(
    config: str, seed: int, steps: int, every: int, transform: str = "raw", n_samples: int = 2000
) -> list[dict[str, Any]]:
    """Modes covered and good share against generator steps for one configuration and seed."""
    curve = _Curve(every, n_samples, seed)
    ring_model(config, seed, steps, [curve], transform).fit(ring_table(seed))
    return [{"Config": config, "Seed": seed, **row} for row in curve.rows]


# ---------------------------------------------------------------------- files, CLI
def _append_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    if path.exists():
        frame = pd.concat([pd.read_csv(path), frame], ignore_index=True)
    temporary = path.with_suffix(".tmp")
    frame.to_csv(temporary, index=False)
    temporary.replace(path)


def _done(path: Path, settings: dict[str, Any]) -> set[tuple[str, int]]:
    """(configuration, seed) pairs already in ``path`` with the same settings."""
    if not path.exists():
        return set()
    frame = pd.read_csv(path)
    for key, value in settings.items():
        frame = frame[frame[key].astype(str) == str(value)]
    first = "Config" if "Config" in frame.columns else "Trained_With"
    return set(zip(frame[first], frame["Seed"].astype(int), strict=True))


def _check_steps(name: str, values: list[int]) -> None:
    per_epoch = RING_ROWS // BATCH
    bad = [v for v in values if v < 0 or v % per_epoch]
    if bad:
        raise SystemExit(f"{name} must be multiples of {per_epoch} steps (one epoch), got {bad}.")


def _run_modes(args: argparse.Namespace) -> None:
    _check_steps("--steps and --every", [args.steps, args.every])
    path = args.out / "modes.csv"
    settings = {"Steps_Total": args.steps, "Every": args.every, "Transform": args.transform}
    done = _done(path, settings)
    for seed in args.seeds:
        for config in args.configs:
            if (config, seed) in done:
                continue
            tick = time.perf_counter()
            rows = mode_curve(config, seed, args.steps, args.every, args.transform)
            _append_csv(path, [{**row, **settings} for row in rows])
            last = rows[-1]
            print(f"modes {config} seed {seed}: {last['Modes_Covered']}/8 modes, good share "
                  f"{last['Good_Share']:.2f} at step {last['Step']} "
                  f"({time.perf_counter() - tick:.0f} s)", flush=True)  # fmt: skip


def _run_variance(args: argparse.Namespace) -> None:
    from benchmarks import ring_variance

    _check_steps("--at", args.at)
    path = args.out / "variance.csv"
    at = " ".join(map(str, sorted(args.at)))
    settings = {"At": at, "Batches": args.batches, "Transform": args.transform}
    done = _done(path, settings)
    for seed in args.seeds:
        for config in args.trained_with:
            if (config, seed) in done:
                continue
            tick = time.perf_counter()
            rows = ring_variance.variance_study(
                config, seed, sorted(args.at), args.objectives, args.batches, args.transform
            )
            _append_csv(path, [{**row, **settings} for row in rows])
            print(f"variance trained with {config}, seed {seed}: {len(rows)} rows "
                  f"({time.perf_counter() - tick:.0f} s)", flush=True)  # fmt: skip


def _mean_sd(values: pd.Series, digits: int) -> str:
    mean, sd = values.mean(), values.std()
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if len(values) > 1 else "")


def _modes_section(frame: pd.DataFrame, img: Path, page: Path, transform: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [f"### Modes covered against generator steps (transform '{transform}')", ""]
    steps = sorted(frame.Step.unique())
    shown = sorted({steps[len(steps) // 4], steps[len(steps) // 2], steps[-1]})
    lines.append("| configuration | seeds | " + " | ".join(
        f"modes @ {s} | good share @ {s}" for s in shown) + " | fit s to last step |")  # fmt: skip
    lines.append("|---|---:|" + "---:|---:|" * len(shown) + "---:|")
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for config, part in frame.groupby("Config", sort=False):
        by_step = part.groupby("Step")
        cells = [
            f"{_mean_sd(by_step.get_group(s).Modes_Covered, 1)} | "
            f"{_mean_sd(by_step.get_group(s).Good_Share, 2)}"
            for s in shown
        ]
        last = by_step.get_group(steps[-1]).Train_Time
        seeds = part.Seed.nunique()
        lines.append(f"| {config} | {seeds} | " + " | ".join(cells) + f" | {_mean_sd(last, 0)} |")
        mean = by_step[["Modes_Covered", "Good_Share"]].mean()
        axes[0].plot(mean.index, mean.Modes_Covered, label=config)
        axes[1].plot(mean.index, mean.Good_Share, label=config)
    axes[0].set(xlabel="generator steps", ylabel="modes covered (of 8)", ylim=(0, 8.5))
    axes[1].set(xlabel="generator steps", ylabel="share of good samples", ylim=(0, 1))
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    img.mkdir(parents=True, exist_ok=True)
    figure.savefig(img / f"ring-modes-{transform}.png", dpi=110)
    plt.close(figure)
    rel = os.path.relpath(img / f"ring-modes-{transform}.png", page)
    return [*lines, "", f"![Modes covered and good share against steps]({rel})"]


def _variance_section(frame: pd.DataFrame) -> list[str]:
    lines = [
        "### Gradient variance at fixed weights",
        "",
        "trace(Cov g) / ||mean g||² of the minibatch gradients (lower: less noise per unit of "
        f"signal), over {int(frame.Batches.iloc[0])} minibatches at the weights reached by "
        "training with *trained with* for *step* generator steps, under each *objective*. "
        "Mean ± sd over seeds.",
        "",
        "| transform | trained with | step | network | seeds | "
        + " | ".join(frame.Objective.unique())
        + " |",
        "|---|---|---:|---|---:|" + "---:|" * frame.Objective.nunique(),
    ]
    keys = ["Transform", "Trained_With", "Step", "Network"]
    for (transform, trained, step, network), part in frame.groupby(keys, sort=False):
        cells = [_mean_sd(g.Ratio, 3) for _, g in part.groupby("Objective", sort=False)]
        lines.append(
            f"| {transform} | {trained} | {step} | {network} | {part.Seed.nunique()} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def ring_markdown(folder: Path, img: Path, page: Path) -> str:
    """The ring study's section of docs/benchmarks.md (figures written under ``img``)."""
    lines = [
        "## Eight-Gaussian ring",
        "",
        f"{RING_ROWS:,} points from eight Gaussians (sd 0.1) on a circle of radius 1.5. "
        f"PTGANSynthesizer with each configuration's parameters (benchmarks/registry.py) at the "
        f"toy's scale ({RING_PARAMS}); transform 'raw' allows one mode per column (a plain "
        "rescaling, the paper's setting), 'modes' keeps the mode-specific normalisation, which "
        "finds the ring's modes per coordinate before any training. 2,000 samples per "
        "measurement. A mode is covered when at "
        "least 1% of the samples lie within 3 sd of it; good samples lie within 3 sd of any "
        "mode. Written by `python -m benchmarks.ring`.",
    ]
    if (folder / "modes.csv").exists():
        modes = pd.read_csv(folder / "modes.csv")
        for transform, part in modes.groupby("Transform", sort=False):
            lines += ["", *_modes_section(part, img, page, str(transform))]
    if (folder / "variance.csv").exists():
        lines += ["", *_variance_section(pd.read_csv(folder / "variance.csv"))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", choices=["modes", "variance"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--configs", nargs="+", default=MODE_CONFIGS, choices=sorted(CONFIGS))
    parser.add_argument("--steps", type=int, default=3000, help="generator steps (modes)")
    parser.add_argument("--every", type=int, default=100, help="steps between measurements")
    parser.add_argument("--trained-with", nargs="+", default=["ptgan", "wgan-gp"],
                        choices=sorted(CONFIGS))  # fmt: skip
    parser.add_argument("--objectives", nargs="+", default=OBJECTIVES, choices=sorted(CONFIGS))
    parser.add_argument("--at", nargs="+", type=int, default=[0, 500, 2000])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--transform", choices=list(TRANSFORMS), default="raw",
                        help="raw: one mode per column (the paper's setting); modes: the table "
                        "transform's mode-specific normalisation")  # fmt: skip
    args = parser.parse_args(argv)
    _limit_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    (_run_modes if args.study == "modes" else _run_variance)(args)


if __name__ == "__main__":
    main()
