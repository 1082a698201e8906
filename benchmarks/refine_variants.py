"""Importance resampling's choices on one fitted model: candidates, replacement, weights, network.

Loads a PTGAN model of Adult, trains the default refiner (fairsynth.models.refine) on the
training rows against the model's unrefined rows, draws one pool of 8 x 30,162 candidates, and
scores rows picked from it several ways: 4 and 8 candidates drawn by the classifier's odds
alone and calibrated to the training margins (8, calibrated: the default's draw;
fairsynth.models._draw), with replacement, weights flattened to ``w ** 0.5``, and a two-layer
neural network in place of the trees (trained like it, with early stopping on a fifth of the
rows). Prints one
JSON line per variant: detection AUC against the training and the test rows, SDMetrics Quality,
Column Shapes and Pair Trends, category coverage, the duplicated share, and the effective sample
size of the weights (a share of the candidates).

Usage::

    python -c "from fairsynth import PTGANSynthesizer, load_dataset; d = load_dataset('adult');
    PTGANSynthesizer(discrete_columns=d.discrete_columns, random_state=0, n_threads=2,
    refine=1).fit(d.train).save('adult-s0.fairsynth')"   # docs/measurements.md's model
    python -m benchmarks.refine_variants adult-s0.fairsynth --seed 0
    python -m benchmarks.refine_variants adult-s0.fairsynth --seed 0 --privacy
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np


def mlp_log_weights(real: np.ndarray, generated: np.ndarray, rows: np.ndarray, seed: int) -> Any:
    """log p(real)/p(generated) of ``rows`` by a (256, 256) network trained on the two sets."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.tensor(np.vstack([real, generated]), dtype=torch.float32)
    y = torch.tensor(np.r_[np.ones(len(real)), np.zeros(len(generated))], dtype=torch.float32)
    order = torch.randperm(len(x), generator=generator)
    held, train = order[: len(x) // 5], order[len(x) // 5 :]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], 256), torch.nn.LeakyReLU(0.2),
            torch.nn.Linear(256, 256), torch.nn.LeakyReLU(0.2), torch.nn.Linear(256, 1),
        )  # fmt: skip
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-5)
    loss = torch.nn.BCEWithLogitsLoss()
    best: tuple[float, dict[str, Any], int] = (np.inf, {}, 0)
    for epoch in range(30):
        for batch in train[torch.randperm(len(train), generator=generator)].split(500):
            optimizer.zero_grad()
            loss(net(x[batch]).squeeze(1), y[batch]).backward()
            optimizer.step()
        with torch.no_grad():
            held_loss = float(loss(net(x[held]).squeeze(1), y[held]))
        if held_loss < best[0]:
            best = (held_loss, {k: v.clone() for k, v in net.state_dict().items()}, epoch)
        elif epoch - best[2] >= 4:
            break
    net.load_state_dict(best[1])
    with torch.no_grad():
        return net(torch.tensor(rows, dtype=torch.float32)).squeeze(1).numpy().astype(float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a PTGAN model file of Adult")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--privacy", action="store_true",
        help="instead: the evaluation's privacy section (DCR, copies, membership AUC) of "
        "30,162 unrefined and 30,162 refined rows",
    )  # fmt: skip
    args = parser.parse_args()

    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.evaluation import category_coverage, detection_auc, quality_scores
    from fairsynth.models._draw import inclusion_probabilities
    from fairsynth.models.refine import choose_rows, fit_refiner

    ds = load_dataset("adult")
    discrete = list(ds.discrete_columns)
    numerical = [c for c in ds.train.columns if c not in discrete]
    model = PTGANSynthesizer.load(args.model, n_threads=1).set_params(refine=4)
    refiner = fit_refiner(model, ds.train, args.seed)  # leaves model.refiner_ None
    n = len(ds.train)
    if args.privacy:
        from fairsynth import evaluate

        model.refiner_ = refiner
        for k in (1, 4):
            rows = model.set_params(refine=k).sample(n, random_state=args.seed + 7)
            scored = evaluate(ds.train, rows, real_test=ds.test, sections=["privacy"],
                              discrete_columns=discrete)  # fmt: skip
            for record in scored.tables["privacy"].to_dict("records"):
                print(json.dumps({"refine": k, "seed": args.seed, **record}, default=str))
        return
    pool = model.sample(8 * n, random_state=args.seed + 11)
    rng = np.random.default_rng(args.seed)
    log_weights = refiner.log_weights(pool)

    def report(name: str, rows: Any, weights: np.ndarray | None = None) -> None:
        quality = quality_scores(ds.train, rows, numerical)[0]
        row = {"variant": name, "seed": args.seed}
        for against, table in (("train", ds.train), ("test", ds.test)):
            auc = detection_auc(table, rows, discrete, numerical, random_state=args.seed)[0]
            row[f"detection_{against}"] = round(auc, 4)
        for key in ("Quality", "Column Shapes", "Column Pair Trends"):
            row[key] = round(float(quality[key]), 4)
        row["coverage"] = round(
            float(category_coverage(ds.train, rows, discrete)["coverage"].mean()), 4
        )
        row["duplicated"] = round(float(rows.duplicated().mean()), 4)
        if weights is not None:
            w = np.exp(weights - weights.max())
            row["effective_share"] = round(float(w.sum() ** 2 / (w**2).sum() / len(w)), 4)
        print(json.dumps(row), flush=True)

    def pick(weights: np.ndarray, k: int, calibrated: bool = False) -> np.ndarray:
        groups = np.zeros(len(weights), dtype=np.int64)
        terms = refiner.margins.terms(pool.iloc[: len(weights)]) if calibrated else ()
        return choose_rows(inclusion_probabilities(weights, groups, k, terms), groups, k, rng)

    report("unrefined", pool.iloc[:n])
    for k in (4, 8):
        weights = log_weights[: k * n]
        report(f"{k} candidates", pool.iloc[pick(weights, k)], weights)
        label = f"{k} candidates, calibrated" + (" (the default)" if k == 8 else "")
        report(label, pool.iloc[pick(weights, k, calibrated=True)], weights)
        chance = np.exp(weights - weights.max())
        with_replacement = rng.choice(k * n, n, p=chance / chance.sum())
        report(f"{k} candidates, with replacement", pool.iloc[with_replacement])
        report(f"{k} candidates, weights ** 0.5", pool.iloc[pick(0.5 * weights, k)])
    real = ds.train.sample(min(n, 50_000), random_state=args.seed)
    generated = model.sample(len(real), random_state=args.seed + 1)
    weights = mlp_log_weights(
        refiner.features(real), refiner.features(generated),
        refiner.features(pool.iloc[: 4 * n]), args.seed,
    )  # fmt: skip
    report("4 candidates, a (256, 256) network", pool.iloc[pick(weights, 4)], weights)


if __name__ == "__main__":
    main()
