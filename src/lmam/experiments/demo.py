"""The main job: bc-LSTM with concatenation against bc-LSTM with LMAM on the bundled CMU-MOSI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from lmam.experiments.grid import print_rows, run_grid, save_rows, summarise
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


def run_demo(out_dir: Path, seeds: list[int], quiet: bool = True) -> list[dict]:
    """Train both models on the bundled MOSI with its fixed-epoch protocol; print and save a table."""
    console = Console()
    base = TrainConfig(dataset="mosi")
    variants = {_slug(label): changes for label, changes in VARIANTS.items()}
    results = run_grid(base, variants, seeds, out_dir, quiet=quiet, console=console)
    rows = summarise(results, METRICS)
    for row, label in zip(rows, VARIANTS):
        row["variant"] = label
    print_rows(
        rows,
        METRICS,
        f"CMU-MOSI (bundled), test set, {len(seeds)} seeds, {rows[0]['selection']}",
        console,
    )
    save_rows(out_dir / "demo.json", rows, {"dataset": "mosi", "seeds": seeds})
    for row in rows:
        console.print(f"{row['variant']}: runs in {', '.join(row['runs'])}")
    warning = next(iter(results.values()))[0].get("warning")
    if warning:
        console.print(f"[yellow]about this dataset:[/yellow] {warning}")
    return rows


def _slug(label: str) -> str:
    """``"bc-LSTM + LMAM (early_residual)"`` -> ``"bc-lstm-lmam-early-residual"``."""
    words = "".join(ch if ch.isalnum() else " " for ch in label.lower()).split()
    return "-".join(words)
