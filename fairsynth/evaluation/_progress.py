"""Progress of a long evaluation on stderr: a tqdm bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Tell the user which part of an evaluation is running and for how long it has run.

    The bar advances once per section; ``step`` names the part inside a section (a model
    fit, a Quality report, a column of the detection table). When ``stream`` is not a
    terminal (a log file, CI, a pipe) each step is one plain line with the seconds since the
    start, so a log shows where the time went. Disabled, every call does nothing.

    Parameters
    ----------
    sections : list of str
        The sections that will run, in order.
    enabled : bool
        Report at all.
    stream : text stream, optional
        Where to write; standard error by default.
    """

    def __init__(
        self, sections: list[str], *, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()
        self.section = ""
        self.bar: Any = None
        if enabled and _is_terminal(self.stream):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(sections), file=self.stream, unit="section", desc="evaluate")

    def begin(self, section: str) -> None:
        """Start a section (the previous one, if any, is complete)."""
        if self.bar is not None and self.section:
            self.bar.update(1)
        self.section = section
        self.step("start")

    def step(self, detail: str) -> None:
        """Name the part of the current section that starts now."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_description(f"evaluate: {self.section}")
            self.bar.set_postfix_str(detail[:60])
            return
        seconds = time.perf_counter() - self.start
        print(f"evaluate {seconds:7.1f} s  {self.section}: {detail}", file=self.stream, flush=True)

    def close(self) -> None:
        """Finish the bar, or print the total time."""
        if not self.enabled:
            return
        if self.bar is not None:
            if self.section:
                self.bar.update(1)
            self.bar.close()
            return
        seconds = time.perf_counter() - self.start
        print(f"evaluate {seconds:7.1f} s  done", file=self.stream, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
