"""Benchmarks: each prints a table and writes ``bench/results/NAME.json``; run from the
repository root as ``python -m bench.NAME``."""
