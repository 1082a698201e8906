"""Where a PTGAN training step spends its time: Adult against a 42-column, ~500-output table.

Builds the model on each table (one epoch, so the networks and the transform exist), then
times each part of a step many times over, one torch thread, in milliseconds per call:

- ``draw``: pairs of real rows mixed at two temperatures (``_tempered_real``);
- ``generator forward``: a batch of tempered fakes; split into the residual body and the output
  layer with its heads;
- ``critic forward``: the critic on the real and the fake batch;
- ``coherency penalty``: its forward and its share of the backward (double backward);
- ``critic step``, ``generator step``: the whole steps as the fit runs them.

Prints one JSON object per table and appends them to benchmarks/results/step_profile.jsonl.
Timings are only comparable within one run (run it alone on the machine).

Usage::

    python -m benchmarks.step_profile --rows 20000 --repeats 30
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "step_profile.jsonl"


def _ms(work: Any, repeats: int) -> float:
    work()  # warm up
    started = time.perf_counter()
    for _ in range(repeats):
        work()
    return round((time.perf_counter() - started) / repeats * 1000, 2)


def profile(
    name: str, table: Any, repeats: int, seed: int = 0, make: Any = None, **params: Any
) -> dict[str, Any]:
    """Milliseconds per call of each part of a step of PTGAN (defaults but ``params``).

    ``make`` builds the model from the parameters (default: ``PTGANSynthesizer``).
    """
    import torch

    from fairsynth import PTGANSynthesizer
    from fairsynth.nn.tempering import coherency_penalty, temperature

    model = (make or PTGANSynthesizer)(epochs=1, random_state=seed, verbose=False, n_threads=1,
                                       fit_check=False, **params).fit(table)  # fmt: skip
    torch.set_num_threads(1)
    data = torch.as_tensor(model.transformer_.transform(table, random_state=seed))
    if model.conditioner_ is not None:  # it let go of the training rows when training ended
        model.conditioner_.fit(data)
    generator, critic = model.generator_, model.critic_
    q1, q2, a1, a2, _ = model._tempered_real(data)
    t1 = temperature(a1).unsqueeze(1)
    noise = torch.randn(len(a1), model.noise_dim)
    if model.conditioner_ is not None:  # the generator also reads a condition
        noise = torch.cat([noise, model.conditioner_.mixed_conditions(a1, torch.Generator())], 1)
    hidden = generator.hidden(noise, t1).detach()
    fake = model._tempered_fake(a1).detach()
    v = torch.rand(len(a1))

    def penalty_backward() -> None:
        critic.zero_grad()
        coherency_penalty(critic, q1, q2, a1, a2, v).backward()

    def adversarial_backward() -> None:
        critic.zero_grad()
        model._loss.critic(critic(q1, t1), critic(fake, t1)).backward()

    with torch.no_grad():
        forward = {
            "draw": _ms(lambda: model._tempered_real(data), repeats),
            "generator forward": _ms(lambda: model._tempered_fake(a1), repeats),
            "generator body": _ms(lambda: generator.hidden(noise, t1), repeats),
            "generator output layer + heads": _ms(
                lambda: generator.heads(generator.out(hidden)), repeats
            ),
            "critic forward (real + fake)": _ms(
                lambda: (critic(q1, t1), critic(fake, t1)), repeats
            ),
        }
    return {
        "table": name,
        "params": params,
        "rows": len(table),
        "columns": table.shape[1],
        "outputs": int(data.shape[1]),
        "generator_params": sum(p.numel() for p in generator.parameters()),
        "critic_params": sum(p.numel() for p in critic.parameters()),
        **forward,
        "adversarial loss forward + backward": _ms(adversarial_backward, repeats),
        "coherency penalty forward + backward": _ms(penalty_backward, repeats),
        "critic step": _ms(lambda: model._critic_step(data), repeats),
        "generator step": _ms(model._generator_step, repeats),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the wide table")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    from benchmarks.widetable import wide_table
    from fairsynth import load_dataset

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for name, table in (("adult", load_dataset("adult").train),
                        ("wide", wide_table(args.rows))):  # fmt: skip
        append_row(RESULTS, profile(name, table, args.repeats))


if __name__ == "__main__":
    main()
