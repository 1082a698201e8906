"""The I/O layer: reading tables, writing outputs atomically, model files (no torch at import).

``tables`` reads and writes tables safely, ``output`` makes outputs atomic (files, write-through
streams, one writer at a time), ``streaming`` writes a stream of chunks to one file and
``modelfile`` is the ``.fairsynth`` model file (a zip of JSON and safetensors, no pickle). The
table functions are re-exported here: ``from fairsynth.io import read_table``.
"""

from __future__ import annotations

from fairsynth.io.tables import (
    atomic_output,
    available_memory,
    check_output_path,
    read_table,
    write_table,
)

__all__ = ["atomic_output", "available_memory", "check_output_path", "read_table", "write_table"]
