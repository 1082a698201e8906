"""Time per GA-NTK training step against batch size (not shipped).

A step builds the NTK of ``m = 2 · batch_size`` rows (real + generated), eigendecomposes it and
backpropagates through both, so its memory grows with m² and its time with m³. For each batch
size this prints the median time of

* the NTK discriminator alone: kernel, closed-form prediction (``eigh``), backward;
* a whole ``GANTKSynthesizer`` step (generator forward, discriminator, backward, Adam),

with the memory estimate that the synthesizer's guard uses and the bytes autograd actually
keeps for the discriminator. Data: the eight-Gaussian ring through the table transform. Times
are process CPU time (the parts) and CPU and wall time (the step): on a shared machine, CPU
time with ``--threads 1`` is what a step takes on an idle core.

Usage::

    python benchmarks/gantk_step_time.py --threads 1 --batch-sizes 32 64 128 256 512 1024
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import torch

from fairsynth.models.gantk import GANTKSynthesizer
from fairsynth.nn.ntk import gradient_flow_prediction, kernel_memory_bytes, relu_ntk
from fairsynth.toy import make_ring


def _timed(
    run: Callable[[], object],
    repeats: int,
    device: torch.device,
    setup: Callable[[], object] | None = None,
) -> tuple[float, float]:
    """Median wall and process-CPU seconds of ``run`` (after ``setup``, which is not timed).

    On a shared machine the wall time includes waiting for a core; with one thread the CPU
    time is what the step would take on an idle core.
    """
    walls, cpus = [], []
    for _ in range(repeats + 1):  # the first call warms up and is dropped
        if setup is not None:
            setup()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls[1:]), statistics.median(cpus[1:])


def _discriminator_parts(points: torch.Tensor, depth: int, repeats: int) -> tuple[float, ...]:
    """Median CPU seconds of kernel, prediction and backward; bytes autograd keeps for them."""
    m = len(points)
    labels = torch.cat([points.new_ones(m // 2), -points.new_ones(m - m // 2)])
    leaf = points.detach().clone().requires_grad_(True)
    device = points.device
    state: dict[str, torch.Tensor] = {}

    def kernel() -> None:
        state["k"] = relu_ntk(leaf, depth=depth)

    def predict() -> None:
        state["f"] = gradient_flow_prediction(state["k"], labels, 0.01 * 131072 / (2 * m))

    def forward() -> None:
        kernel()
        predict()

    def backward() -> None:
        torch.nn.functional.softplus(-state["f"]).mean().backward()

    t_kernel = _timed(kernel, repeats, device)[1]
    t_predict = _timed(predict, repeats, device, setup=kernel)[1]
    t_backward = _timed(backward, repeats, device, setup=forward)[1]

    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return t_kernel, t_predict, t_backward, float(sum(saved.values()))


def _step_time(batch_size: int, depth: int, repeats: int, device: str) -> tuple[float, float]:
    ring = make_ring(max(4 * batch_size, 512), random_state=0)
    model = GANTKSynthesizer(
        epochs=1, batch_size=batch_size, ntk_depth=depth, verbose=False, random_state=0,
        device=device,
    ).fit(ring)  # fmt: skip
    matrix = model.transformer_.transform(ring, random_state=0)
    data = torch.as_tensor(matrix, dtype=torch.float32, device=model.device_)
    return _timed(lambda: model._train_step(data), repeats, model.device_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 128, 256, 512, 1024])
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    ring = make_ring(4096, random_state=1)
    sample = GANTKSynthesizer(epochs=1, batch_size=64, verbose=False, random_state=0).fit(ring)
    rows = torch.as_tensor(sample.transformer_.transform(ring, random_state=0))

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(f"torch {torch.__version__}, device {device} ({name or platform.machine()}), "
          f"{torch.get_num_threads()} threads, NTK depth {args.depth}, float64 kernel, "
          f"{rows.shape[1]} transformed columns, median of {args.repeats}")  # fmt: skip
    print()
    print("| batch (real + generated) | kernel | eigh prediction | backward | whole step (CPU) | "
          "whole step (wall) | memory estimate MB | autograd keeps MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for batch in args.batch_sizes:
        points = rows[: 2 * batch].to(device=device, dtype=torch.float64)
        t_k, t_p, t_b, kept = _discriminator_parts(points, args.depth, args.repeats)
        wall, cpu = _step_time(batch, args.depth, args.repeats, args.device)
        estimate = kernel_memory_bytes(2 * batch, args.depth)
        times = (t_k, t_p, t_b, cpu, wall)
        cells = [f"{batch} + {batch}", *(f"{t * 1e3:.1f} ms" for t in times),
                 f"{estimate / 1e6:.0f}", f"{kept / 1e6:.0f}"]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
