"""Records of finished runs: the small files a table is made from, kept where the runs are not.

A finished run directory holds its weights (``best/``, ``state/``: megabytes)
and its record: ``config.yaml``, ``summary.json`` (the selected epoch's
metrics, per class), ``confusion.csv`` and ``metrics.json`` (every epoch).
``lmam reproduce`` keeps the record of each run it uses under
``OUT/runs/DATASET/RUN`` (``results/runs/...``, committed beside the tables)
and restores a record into the runs folder when the run is not there. A table
whose runs take longer than one working session thus continues on another
machine from the runs finished on the first, and every figure of a table can
be traced to the runs it came from (``lmam runs results/runs/DATASET``).

A record's ``metrics.json`` keeps each epoch's loss, time and scalar metrics
per split (not the per-class metrics and confusion matrix of every epoch,
which would make it 15 times larger; the selected epoch's are in
``summary.json``). A restored run has no weights: ``record.json`` in it says
so, and ``lmam evaluate`` or ``lmam predict`` on it is refused with that reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

from lmam.train.config import TrainConfig
from lmam.train.io import atomic_write_json

MARKER = "record.json"
"""The file that marks a run directory as a record (no weights)."""

FILES = ("config.yaml", "summary.json", "confusion.csv")
"""Copied as they are; ``metrics.json`` is copied without its per-epoch details."""

SPLITS = ("train", "valid", "test")


def is_record(run: Path) -> bool:
    """Whether ``run`` is a record restored without weights."""
    return (Path(run) / MARKER).is_file()


def slim_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each epoch of ``metrics.json``'s history with only scalar metrics per split."""
    out = []
    for epoch in history:
        row = {k: v for k, v in epoch.items() if k not in SPLITS}
        for split in SPLITS:
            if isinstance(epoch.get(split), dict):
                row[split] = {
                    k: v
                    for k, v in epoch[split].items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)
                }
        out.append(row)
    return out


def _replace_dir(tmp: Path, dest: Path) -> None:
    """Put the folder ``tmp`` in the place of ``dest`` (renames: never half-written).

    Where another process writes the same record at the same time and its folder
    lands first, that one is kept (both hold the same run's record)."""
    old = dest.with_name(f".{dest.name}.{os.getpid()}.old")
    with contextlib.suppress(FileNotFoundError):
        os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except OSError:  # another process's folder is there now (not empty)
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def _staging(dest: Path) -> Path:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def save_record(run: Path, dest: Path) -> bool:
    """Keep the record of the finished run ``run`` as the folder ``dest`` (replacing
    an older record there). Returns ``False`` (and writes nothing) if the run has
    not finished. Nothing is written either where ``dest`` already keeps this run:
    the same ``summary.json``, or ``run`` is itself a record restored from there
    (rewriting it would only put this machine's folder names into it)."""
    run, dest = Path(run), Path(dest)
    if not (run / "summary.json").is_file() or not (run / "config.yaml").is_file():
        return False
    kept = dest / "summary.json"
    if kept.is_file() and (
        is_record(run) or kept.read_bytes() == (run / "summary.json").read_bytes()
    ):
        return True
    tmp = _staging(dest)
    for name in FILES:
        if (run / name).is_file():
            shutil.copy2(run / name, tmp / name)
    if (run / "metrics.json").is_file():
        metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
        metrics["history"] = slim_history(list(metrics.get("history", [])))
        atomic_write_json(tmp / "metrics.json", metrics)
    atomic_write_json(
        tmp / MARKER,
        {
            "record_of": run.name,
            "weights": False,
            "note": "the record of a finished run (configuration, metrics, confusion "
            "matrix); its weights were not kept",
        },
    )
    _replace_dir(tmp, dest)
    return True


def restore_record(record: Path, run: Path) -> bool:
    """Put the record ``record`` in the place of the run directory ``run`` if that
    is absent: its ``config.yaml`` then names ``run``'s folder and ``summary.json``
    its path, as if it had been trained there. Returns whether it restored."""
    record, run = Path(record), Path(run)
    if run.exists() or not (record / "summary.json").is_file():
        return False
    if not (record / "config.yaml").is_file():
        return False
    tmp = _staging(run)
    for item in record.iterdir():
        if item.is_file():
            shutil.copy2(item, tmp / item.name)
    config = TrainConfig.load(tmp / "config.yaml")
    config = dataclasses.replace(config, out_dir=str(run.parent), name=run.name)
    config.dump(tmp / "config.yaml")
    summary = json.loads((tmp / "summary.json").read_text(encoding="utf-8"))
    summary["run_dir"] = str(run)
    atomic_write_json(tmp / "summary.json", summary)
    _replace_dir(tmp, run)
    return True
