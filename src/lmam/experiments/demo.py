"""The main job: bc-LSTM with concatenation against bc-LSTM with LMAM on the bundled CMU-MOSI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from lmam.data import create_dataset
from lmam.experiments.grid import print_rows, run_grid, save_rows, summarise
from lmam.options import plural
from lmam.train.config import TrainConfig

VARIANTS: dict[str, dict[str, Any]] = {
    "bc-LSTM (concat)": {"fusion": "concat", "embed": "early"},
    "bc-LSTM + LMAM (early_residual)": {
        "fusion": "lmam",
        "embed": "early_residual",
        "fusion_options": {"rank": 45},
    },
}
METRICS = ["accuracy", "weighted_f1"]


def run_demo(
    out_dir: Path,
    seeds: list[int],
    quiet: bool = True,
    epochs: int | None = None,
    threads: int | None = None,
    fresh: bool = False,
) -> list[dict]:
    """Train both models on the bundled MOSI with its fixed-epoch protocol; print and save a table.

    Finished runs in ``out_dir`` with the same settings are reused (and said to
    be); ``fresh=True`` retrains them.
    """
    console = Console(emoji=False, highlight=False)  # results
    log = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)  # progress
    # random batches: the protocol of the figures the README states
    base = TrainConfig(dataset="mosi", epochs=epochs, batching="random", threads=threads)
    warning = create_dataset("mosi").warning
    if warning:
        log.print(f"[yellow]about this dataset:[/yellow] {escape(warning)}")
    variants = {_slug(label): changes for label, changes in VARIANTS.items()}
    results = run_grid(base, variants, seeds, out_dir, quiet=quiet, console=log, fresh=fresh)
    rows = summarise(results, METRICS)
    for row, label in zip(rows, VARIANTS):
        row["variant"] = label
    print_rows(
        rows,
        METRICS,
        f"CMU-MOSI (bundled), test set, {plural(len(seeds), 'seed')}, {rows[0]['selection']}",
        console,
    )
    save_rows(out_dir / "demo.json", rows, {"dataset": "mosi", "seeds": seeds})
    for row in rows:
        console.print(f"{row['variant']}: runs in {', '.join(row['runs'])}")
    reused = sum(r["reused"] for runs in results.values() for r in runs)
    total = sum(len(runs) for runs in results.values())
    if reused:
        log.print(
            f"{reused} of {plural(total, 'run')} were reused from an earlier demo with the same settings "
            "(lmam demo --fresh retrains them)"
        )
    return rows


def _slug(label: str) -> str:
    """``"bc-LSTM + LMAM (early_residual)"`` -> ``"bc-lstm-lmam-early-residual"``."""
    words = "".join(ch if ch.isalnum() else " " for ch in label.lower()).split()
    return "-".join(words)
