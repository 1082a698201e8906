"""EarlyStopping on Adult: a fit with a large epoch budget that stops when detection stops falling.

PTGAN at its defaults but ``epochs=300`` (18,000 steps) with ``EarlyStopping()`` (a check of
2,500 rows every 1,500 steps), 2 threads; prints the checks, where it stopped, which weights it
kept, the fit time and the detection AUC of the kept model by the evaluation protocol (as many
rows as the training split). Run it alone on the machine.

Usage::

    python -m benchmarks.early_stopping --seed 0
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from fairsynth import EarlyStopping, PTGANSynthesizer, load_dataset
    from fairsynth.evaluation import detection_auc

    ds = load_dataset("adult")
    stop = EarlyStopping()
    model = PTGANSynthesizer(epochs=300, callbacks=[stop], random_state=args.seed, verbose=False,
                             n_threads=args.threads, fit_check=False).fit(ds.train)  # fmt: skip
    synthetic = model.sample(len(ds.train), random_state=args.seed)
    discrete = list(ds.discrete_columns)
    numerical = [c for c in ds.train.columns if c not in discrete]
    auc = detection_auc(ds.train, synthetic, discrete, numerical, random_state=args.seed)[0]
    print(json.dumps({
        "checks": [[s["step"], round(s["detection_auc"], 4), round(s["seconds"], 1)]
                   for s in stop.scores_],
        "stopped": stop.stopped_, "steps_run": sum(int(r["steps"]) for r in model.history_),
        "kept_step": stop.best_step_, "fit_s": round(model.fit_time_, 1),
        "detection_auc": round(float(auc), 4),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
