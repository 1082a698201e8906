"""How many CPU threads torch may use inside a fit or a sample, and only there.

On an idle 2-core machine two threads fit Adult 1.4× faster than one; beside another busy
process they oversubscribe the cores and OpenMP's threads wait on each other: two fits of two
threads side by side took 5.4× their time alone, two of one thread 1.15× (docs/reliability.md,
"Threads"). So ``n_threads='auto'`` gives a fit one thread when its networks are small, and
otherwise the cores that are idle when the fit starts (measured over a quarter of a second),
fixed for the whole fit so that it stays reproducible (``n_threads_`` says what it chose).
Sampling sizes its threads to the work alone, so the same seed gives the same rows whatever
the load.
:func:`torch_threads` sets the threads for the library's own call only and gives the caller's
setting back afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral

import torch

from fairsynth.models._constraints import Constraint, Interval, Options, check_value

__all__ = ["N_THREADS", "available_cores", "check_threads", "resolve_threads", "torch_threads"]

# Multiply-adds of one forward pass (parameters × batch rows) that one more thread must have to
# be worth it. Adult's networks at batch 500 are about 1.6e8 (two threads: 1.4× faster alone).
WORK_PER_THREAD = 5e7


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: the valid values of ``n_threads``, a parameter of every synthesizer
N_THREADS: list[Constraint] = [
    Options("auto"),
    Interval(
        Integral,
        1,
        available_cores,
        description="an integer from {0} to {1} (the cores this process may use)",
    ),
]


def check_threads(n_threads: object) -> None:
    """Raise ParameterError unless ``n_threads`` is 'auto' or an int in [1, cores]."""
    check_value("n_threads", n_threads, N_THREADS)


def resolve_threads(n_threads: int | str, work: float, *, idle_only: bool = False) -> int:
    """The torch threads to use: ``n_threads``, or under 'auto' one per ``WORK_PER_THREAD``.

    Parameters
    ----------
    n_threads : int or 'auto'
        Checked by :func:`check_threads`.
    work : float
        Multiply-adds of one forward pass of the networks (parameters × batch rows).
    idle_only : bool, default=False
        Under 'auto', use only the cores that are idle now (:func:`idle_cores`), at least one.
    """
    check_threads(n_threads)
    if n_threads != "auto":
        return int(n_threads)
    wanted = int(max(1, min(available_cores(), work // WORK_PER_THREAD)))
    if wanted == 1 or not idle_only:
        return wanted
    return min(wanted, idle_cores())


def idle_cores() -> int:
    """This process's cores less those busy with other work right now.

    Linux: the machine's busy share over a quarter of a second (/proc/stat), while this process
    waits. Elsewhere the 1-minute load average, which lags: a machine that was busy a minute
    ago counts as busy.
    """
    cores = available_cores()
    busy = _busy_cores()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):  # not on a Unix
            return cores
    return max(1, cores - int(busy + 0.5))


def _busy_cores(seconds: float = 0.25) -> float | None:
    """Cores busy over the next ``seconds`` on the whole machine, or None without /proc/stat."""
    try:
        first = _cpu_times()
        time.sleep(seconds)
        second = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    total = sum(second) - sum(first)
    idle = (second[3] + second[4]) - (first[3] + first[4])  # idle and iowait
    return (os.cpu_count() or 1) * (total - idle) / total if total > 0 else 0.0


def _cpu_times() -> list[int]:
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:9]]


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
