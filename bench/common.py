"""Shared helpers of the benchmarks: timing, environment, tables, JSON."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from lmam.experiments.reproduce.report import environment as report_environment
from lmam.experiments.timing import interleaved_medians as interleaved_medians
from lmam.outputs import atomic_write_json

RESULTS = Path(__file__).resolve().parent / "results"


def environment() -> dict[str, Any]:
    """What the numbers were measured on: the reports' environment, with the
    processor and torch's thread count."""
    return {
        **report_environment(),
        "processor": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
    }


@contextmanager
def busy_loops(count: int, settle: float) -> Iterator[None]:
    """``count`` CPU-bound processes (``while True: pass``) running while inside; they
    get ``settle`` seconds to start before the body, and are killed after it."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(settle)
        yield
    finally:
        for p in loops:
            p.kill()
            p.wait()


def print_table(title: str, columns: list[str], rows: Sequence[Sequence[object]]) -> None:
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


def random_dataset(
    name: str, lengths: list[int], widths: dict[str, int], label_names: list[str], *, test: bool
) -> Any:
    """A dataset of dialogues of the given ``lengths`` with random features of ``widths``,
    two speakers and random labels (seeded): real shapes for timing, nothing to learn.
    Its valid split (and test split, if ``test``) is the first dialogue."""
    import numpy as np

    from lmam.data import Conversation, ConversationDataset

    rng = np.random.default_rng(0)
    convs = [
        Conversation(
            id=f"d{k:04d}",
            feats={m: rng.normal(size=(n, w)).astype(np.float32) for m, w in widths.items()},
            speakers=rng.integers(0, 2, size=n).astype(np.int64),
            labels=rng.integers(0, len(label_names), size=n).astype(np.int64),
        )
        for k, n in enumerate(lengths)
    ]
    return ConversationDataset(
        name=name,
        splits={"train": convs, "valid": convs[:1], "test": convs[:1] if test else []},
        label_names=list(label_names),
        modalities=dict(widths),
    )
