"""Peers measured beside fairsynth's fairness knob: installed third-party generators, same protocol.

Each peer module offers ``available()``, an adapter with ``fit``/``sample`` (used by the
benchmark registry) and ``frontier_rows(dataset, ...)`` (its points on a fairness frontier).
:func:`peer_frontier` returns a peer's rows, or an empty table and a one-line note when the
peer is not installed, so a frontier is drawn without it instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from benchmarks.peers import mostlyai_fair, tabfairgdt

__all__ = ["PEERS", "peer_frontier"]

PEERS: dict[str, Any] = {"mostlyai": mostlyai_fair, "tabfairgdt": tabfairgdt}


def peer_frontier(
    name: str, dataset: Any, *, say: Callable[[str], None] = print, **options: Any
) -> pd.DataFrame:
    """The frontier rows of peer ``name`` on ``dataset`` (``frontier_rows``'s options).

    When the peer's package is not installed, ``say`` gets one line and the table is empty.
    """
    if name not in PEERS:
        raise KeyError(f"Unknown peer {name!r}. Known: {', '.join(sorted(PEERS))}.")
    module = PEERS[name]
    if not module.available():
        say(f"peer {name}: not installed, drawn without it ({module.HINT})")
        return pd.DataFrame()
    return module.frontier_rows(dataset, **options)
