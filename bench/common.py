"""Shared helpers of the benchmarks: timing, environment, tables, JSON."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from lmam.experiments.reproduce.report import environment as report_environment
from lmam.train.io import atomic_write_json

RESULTS = Path(__file__).resolve().parent / "results"


def environment() -> dict[str, Any]:
    """What the numbers were measured on: the reports' environment, with the
    processor and torch's thread count."""
    return {
        **report_environment(),
        "processor": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
    }


def interleaved_medians(
    jobs: dict[str, Callable[[], object]],
    repeats: dict[str, int],
    warmup: int = 1,
    samples: dict[str, list[float]] | None = None,
) -> dict[str, float]:
    """Median seconds of each job, timing them round-robin so that machine noise
    hits all of them alike (side by side in one process).

    Args:
        jobs: name -> a callable doing one measured unit of work.
        repeats: name -> how many timed calls (jobs with fewer stop earlier).
        warmup: untimed calls of each job first.
        samples: if given, every timing is also appended to ``samples[name]``.
    """
    for job in jobs.values():
        for _ in range(warmup):
            job()
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(max(repeats.values())):
        for name, job in jobs.items():
            if round_ < repeats[name]:
                start = time.perf_counter()
                job()
                times[name].append(time.perf_counter() - start)
    if samples is not None:
        for name, t in times.items():
            samples[name].extend(t)
    return {name: statistics.median(t) for name, t in times.items()}


def print_table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right" if c != columns[0] else "left")
    for row in rows:
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    Console().print(table)


def write_json(name: str, payload: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` atomically."""
    path = RESULTS / f"{name}.json"
    atomic_write_json(path, payload)
    return path
