"""How many CPU threads torch may use inside a fit or a sample, and only there.

Two threads per process buy little for fairsynth's networks on a CPU (a 256-wide MLP on a batch
of 500 rows), and cost much when anything else runs on the machine: OpenMP's worker threads
spin while they wait, so two processes of two threads on two cores slowed each other 6.5× in
our measurement (docs/reliability.md, "Threads"). ``n_threads='auto'`` therefore sizes the
threads to the work of one training step, and :func:`torch_threads` sets them for the duration
of the library's own call and gives the caller's setting back afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from fairsynth.exceptions import ParameterError

__all__ = ["available_cores", "resolve_threads", "torch_threads"]

# Multiply-adds of one forward pass (parameters × batch rows) that one more thread must have to
# be worth it. Below it, the threads' synchronisation costs more than they save (see the module
# docstring); Adult's networks at batch 500 are about 1.6e8.
WORK_PER_THREAD = 1e9


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_threads(n_threads: object) -> None:
    """Raise ParameterError unless ``n_threads`` is 'auto' or an int in [1, cores]."""
    if n_threads == "auto":
        return
    cores = available_cores()
    if (
        isinstance(n_threads, bool)
        or not isinstance(n_threads, (int, np.integer))
        or not 1 <= n_threads <= cores
    ):
        raise ParameterError(
            f"n_threads must be 'auto' or an integer from 1 to {cores} (the cores this process "
            f"may use), got {n_threads!r}."
        )


def resolve_threads(n_threads: int | str, work: float) -> int:
    """The torch threads to use: ``n_threads``, or under 'auto' one per ``WORK_PER_THREAD``.

    Parameters
    ----------
    n_threads : int or 'auto'
        Checked by :func:`check_threads`.
    work : float
        Multiply-adds of one forward pass of the networks (parameters × batch rows).
    """
    check_threads(n_threads)
    if n_threads != "auto":
        return int(n_threads)
    return int(min(available_cores(), max(1, work // WORK_PER_THREAD)))


@contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Run the block with ``n_threads`` intra-op threads, then restore the caller's setting."""
    before = torch.get_num_threads()
    if n_threads != before:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
