"""Run variants of a configuration over seeds and summarise them (mean +- std)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from lmam.train.config import TrainConfig
from lmam.train.engine import portable, train
from lmam.train.io import atomic_write_json


def run_grid(
    base: TrainConfig,
    variants: Mapping[str, Mapping[str, Any]],
    seeds: list[int],
    out_dir: Path,
    quiet: bool = True,
    console: Console | None = None,
    fresh: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Train every variant (``base`` with the variant's fields replaced) for every seed.

    Run directories are ``out_dir/<variant>-s<seed>``. A finished run (with
    ``summary.json``) whose ``config.yaml`` has the same settings is reused, not
    retrained (``fresh=True``: retrain it); a run with other settings or an
    unfinished one is trained again. Each summary says ``"reused"``.

    Returns:
        ``{variant: [summary per seed]}``.
    """
    results: dict[str, list[dict[str, Any]]] = {}
    for name, changes in variants.items():
        results[name] = []
        for seed in seeds:
            run = out_dir / f"{name}-s{seed}"
            cfg = portable(
                dataclasses.replace(base, **changes, seed=seed, out_dir=str(out_dir), name=run.name)
            )
            reason = _reuse(run, cfg) if not fresh else "--fresh asked for"
            if reason is None:
                summary = json.loads((run / "summary.json").read_text())
                results[name].append({**summary, "reused": True})
                if console is not None:
                    console.print(f"reusing {run} (finished earlier with the same settings)")
                continue
            if run.exists():
                shutil.rmtree(run)
            if console is not None:
                console.print(f"training {run.name} ...{reason}")
            results[name].append({**train(cfg, quiet=quiet), "reused": False})
    return results


def _reuse(run: Path, cfg: TrainConfig) -> str | None:
    """``None`` if ``run`` is finished with the settings of ``cfg``, else why it is retrained."""
    if not run.exists():
        return ""
    if not (run / "summary.json").is_file():
        return " (an unfinished run is trained again)"
    try:
        earlier = TrainConfig.load(run / "config.yaml")
    except ValueError:
        return " (the earlier run had other settings)"
    # the trainer fills in DialogueGCN's speaker count from the data when unset
    if "num_speakers" in earlier.model_options and "num_speakers" not in cfg.model_options:
        options = {k: v for k, v in earlier.model_options.items() if k != "num_speakers"}
        earlier = dataclasses.replace(earlier, model_options=options)
    if earlier == cfg:
        return None
    return " (the earlier run had other settings)"


def mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def summarise(
    results: Mapping[str, list[dict[str, Any]]], metrics: list[str]
) -> list[dict[str, Any]]:
    """One row per variant: mean and std of each test metric, parameters, seconds per epoch."""
    rows = []
    for name, runs in results.items():
        row: dict[str, Any] = {"variant": name, "seeds": len(runs)}
        for m in metrics:
            row[m] = mean_std([r["test"][m] for r in runs])
        row["parameters"] = runs[0]["parameters"]
        row["seconds_per_epoch"] = mean_std([r["seconds_per_epoch"] for r in runs])
        row["selection"] = runs[0]["selection"]
        row["runs"] = [r["run_dir"] for r in runs]
        rows.append(row)
    return rows


def print_rows(
    rows: list[dict[str, Any]], metrics: list[str], title: str, console: Console
) -> None:
    table = Table(title=title)
    table.add_column("variant", overflow="fold")
    for m in metrics:
        table.add_column(f"{m} (%)", justify="right", no_wrap=True)
    table.add_column("parameters", justify="right", no_wrap=True)
    table.add_column("s / epoch", justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row["variant"],
            *[f"{100 * row[m][0]:.2f} ± {100 * row[m][1]:.2f}" for m in metrics],
            f"{row['parameters']:,}",
            f"{row['seconds_per_epoch'][0]:.3f}",
        )
    console.print(table)


def save_rows(
    path: Path, rows: list[dict[str, Any]], extra: Mapping[str, Any] | None = None
) -> None:
    atomic_write_json(path, {**(extra or {}), "rows": rows})
