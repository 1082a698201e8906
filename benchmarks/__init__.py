"""Benchmarks of fairsynth (not shipped with the package)."""
