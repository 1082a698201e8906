"""What the command line needs beyond argument parsing: signals, output names, sizes, progress.

Kept apart from :mod:`fairsynth.cli` so that the commands stay a list of options calling the
public API.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from fairsynth.exceptions import DataError, ParameterError
from fairsynth.io.output import STDOUT, is_regular_output

__all__ = [
    "TABLE_SUFFIXES",
    "RowProgress",
    "check_picture_output",
    "check_ranges",
    "check_table_output",
    "install_sigterm_handler",
    "interrupt_exit_code",
    "parse_size",
    "stopped_fit_message",
]

#: Suffixes of the table files the CLI writes (anything else is refused, not written as CSV).
TABLE_SUFFIXES = (".csv", ".parquet")
_EXIT_CODES = {
    int(signal.SIGINT): 130,
    int(signal.SIGTERM): 143,
}  # 128 + the signal, as shells report
_received: list[int] = []  # signals this process was stopped by


# ------------------------------------------------------------------------------ signals
def install_sigterm_handler() -> None:
    """Handle SIGTERM like Ctrl-C: a fit stops after its step and saves, a write cleans up.

    Only the console process calls this (a library must not take over SIGTERM). A second
    SIGTERM during a fit aborts at once, like a second Ctrl-C.
    """
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: Any) -> None:
    from fairsynth.models.checkpoint import request_stop

    _received.append(signum)
    if request_stop(signum):  # a fit is running: it stops after the step in progress
        return
    raise KeyboardInterrupt  # anything else: unwinds like Ctrl-C, removing partial outputs


def interrupt_exit_code() -> int:
    """130 after Ctrl-C, 143 after SIGTERM (128 + the signal's number)."""
    return _EXIT_CODES.get(_received[-1], 130) if _received else 130


def stopped_fit_message(epochs: int, output: Path, checkpoint_dir: Path | None) -> str:
    """One line for a fit stopped by Ctrl-C or SIGTERM: what was saved, how to go on."""
    how = (
        f"rerun the same command to resume from its checkpoint in {checkpoint_dir}."
        if checkpoint_dir is not None
        else "this fit cannot resume (it had no --checkpoint-dir); rerun it with "
        "--checkpoint-dir DIR to make a fit you can stop and resume."
    )
    return (
        f"Stopped after {epochs} epoch(s); the model so far is saved to {output}. To go on, {how}"
    )


# ------------------------------------------------------------------------------ options
# The valid range of numeric options (numpy's seeds; at least one row or epoch), checked by the
# CLI so that its message names the option the user typed, not the parameter it feeds.
_RANGES: dict[str, tuple[int, int | None]] = {
    "seed": (0, 2**32 - 1),
    "chunk_size": (1, None),
    "checkpoint_every": (1, None),
}


def check_ranges(**values: int | None) -> None:
    """Refuse an option out of its range, naming it as typed: ``--chunk-size must be ≥ 1``."""
    for name, value in values.items():
        low, high = _RANGES[name]
        if value is None or (low <= value and (high is None or value <= high)):
            continue
        valid = f"an integer ≥ {low}" if high is None else f"an integer from {low} to {high}"
        raise ParameterError(f"--{name.replace('_', '-')} must be {valid}, got {value}.")


# ------------------------------------------------------------------------------ outputs
def check_table_output(path: Path) -> None:
    """Refuse a table file name whose suffix is not one the CLI writes.

    ``-`` (standard output), a character device or a FIFO take CSV whatever their name.
    """
    if str(path) == STDOUT or not is_regular_output(path):
        return
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(
            f"Output '{path}' has suffix {path.suffix or '(none)'!r}; fairsynth writes tables "
            f"as {' or '.join(TABLE_SUFFIXES)} (or '{STDOUT}' for CSV on standard output)."
        )


def check_picture_output(path: Path) -> None:
    """Refuse a picture file name matplotlib cannot write (checked before any work is done)."""
    from matplotlib.figure import Figure

    formats = sorted(Figure().canvas.get_supported_filetypes())
    if path.suffix.lower().lstrip(".") not in formats:
        raise DataError(
            f"Picture '{path}' has suffix {path.suffix or '(none)'!r}; valid: "
            f"{', '.join('.' + f for f in formats)}."
        )


_SIZE = re.compile(r"(\d+(?:\.\d*)?(?:e\d+)?)\s*([kmgtp]?)(i?)b?", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """Bytes from ``'20GB'``, ``'500M'``, ``'1.5T'``, ``'2GiB'`` or ``'123'``; None for 'none'."""
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ParameterError(
            f"--max-bytes {text!r} is not a size; write e.g. 20GB, 500MB, 2TiB, 123456 or none."
        )
    number, unit, binary = match.groups()
    base = 1024 if binary else 1000
    return int(float(number) * base ** " kmgtp".index(unit.lower() or " "))


# ------------------------------------------------------------------------------ progress
class RowProgress:
    """Progress of rows written: a tqdm bar on a terminal, else a plain line now and then.

    Parameters
    ----------
    total : int
        Rows to write.
    every_seconds : float, default=10.0
        Off a terminal, the least time between two lines.
    enabled : bool, default=True
        False writes nothing.
    """

    def __init__(self, total: int, *, every_seconds: float = 10.0, enabled: bool = True) -> None:
        self.total, self.every_seconds, self.enabled = total, every_seconds, enabled
        self._started = self._last = time.monotonic()
        self._bar: Any = None
        if enabled and _is_terminal(sys.stderr):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="row", unit_scale=True, file=sys.stderr)

    def __call__(self, rows: int) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(rows - self._bar.n)
            return
        now = time.monotonic()
        if now - self._last >= self.every_seconds and rows < self.total:
            self._last = now
            rate = rows / max(now - self._started, 1e-9)
            print(
                f"Sampled {rows:,} of {self.total:,} rows ({rows / self.total:.0%}, "
                f"{rate:,.0f} rows/s)",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        """Close the bar (a no-op for plain lines)."""
        if self._bar is not None:
            self._bar.close()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
