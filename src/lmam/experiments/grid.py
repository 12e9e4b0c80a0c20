"""Run variants of a configuration over seeds and summarise them (mean +- std)."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Collection, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from lmam.errors import OptionError
from lmam.experiments.locks import run_lock
from lmam.experiments.records import restore_record, save_record
from lmam.outputs import atomic_write_json
from lmam.train.build import portable
from lmam.train.config import TrainConfig
from lmam.train.engine import resume, train


def run_grid(
    base: TrainConfig,
    variants: Mapping[str, Mapping[str, Any]],
    seeds: list[int],
    out_dir: Path,
    quiet: bool = True,
    console: Console | None = None,
    fresh: bool = False,
    jobs: int = 1,
    records: Path | None = None,
    retrain: Collection[str] = (),
) -> dict[str, list[dict[str, Any]]]:
    """Train every variant (``base`` with the variant's fields replaced) for every seed.

    Run directories are ``out_dir/<variant>-s<seed>``. A finished run (with
    ``summary.json``) whose ``config.yaml`` has the same settings is reused, not
    retrained (``fresh=True``: retrain it); an unfinished run with the same
    settings continues from its last completed epoch (a killed grid goes on
    where it stopped); a run with other settings is trained again. Each
    summary says ``"reused"``.

    ``jobs`` > 1 trains that many runs at once, each in its own process
    (``threads`` unset in ``base`` means one thread per run then). Grids
    running at the same time over one folder share it safely: each run is
    trained under a lock (:func:`~lmam.experiments.locks.run_lock`) and reused by the others.

    ``records``: where run records are kept (:mod:`lmam.experiments.records`:
    ``records / RUN`` is that run's line in ``records.jsonl``): a run that is
    not in ``out_dir`` is first restored from its record (unless ``fresh``), and
    every finished run's record is kept.

    ``retrain``: backbone names whose runs are trained again as with ``fresh`` (after a
    change to a backbone, its rows are retrained and every other run is reused).

    Returns:
        ``{variant: [summary per seed]}``, in the order of ``variants`` and ``seeds``.
    """
    if jobs < 1:
        raise OptionError(f"jobs {jobs}: want 1 or more")
    if jobs > 1 and base.threads is None:
        base = dataclasses.replace(base, threads=1)
    results: dict[str, list[dict[str, Any] | None]] = {}
    todo: list[tuple[str, int, TrainConfig, Path, bool]] = []
    for name, changes in variants.items():
        results[name] = []
        for seed in seeds:
            run = out_dir / f"{name}-s{seed}"
            cfg = portable(
                dataclasses.replace(base, **changes, seed=seed, out_dir=str(out_dir), name=run.name)
            )
            again = fresh or cfg.backbone in retrain
            if records is not None and not again:
                restore_record(records / run.name, run)
            if not again and _reuse(run, cfg) is None:
                summary = json.loads((run / "summary.json").read_text())
                results[name].append({**summary, "reused": True})
                if records is not None:
                    save_record(run, records / run.name)
                if console is not None:
                    console.print(f"reusing {run} (finished earlier with the same settings)")
                continue
            results[name].append(None)
            todo.append((name, len(results[name]) - 1, cfg, run, again))
    if jobs == 1 or len(todo) <= 1:
        for name, k, cfg, run, again in todo:
            results[name][k] = _train_one(cfg, run, again, quiet, console)
            if records is not None:
                save_record(run, records / run.name)
    else:
        if console is not None:
            for *_, run, _ in todo:
                console.print(f"queued {run.name}")
        with worker_pool(jobs) as pool:
            futures = {
                pool.submit(_train_one, cfg, run, again, True, None): (name, k, run)
                for name, k, cfg, run, again in todo
            }
            for future in as_completed(futures):
                name, k, run = futures[future]
                summary = future.result()
                results[name][k] = summary
                if records is not None:
                    save_record(run, records / run.name)
                if console is not None:
                    done = "reused" if summary["reused"] else "finished"
                    console.print(f"{done} {summary['run_dir']}")
    return {name: [r for r in runs if r is not None] for name, runs in results.items()}


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` spawned worker processes that exit when this process is gone
    (:func:`exit_with_parent`): every pool of training runs is made here."""
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(jobs, ctx, exit_with_parent, (os.getpid(),))


def exit_with_parent(parent: int, poll: float = 1.0) -> None:
    """Make this (worker) process exit once ``parent`` is gone.

    A grid's workers would otherwise go on training after the grid itself is
    killed (SIGTERM or SIGKILL reach only the process they are sent to). The
    run a worker leaves behind continues from its last completed epoch next
    time, and its lock, held by a dead process, is taken over.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _train_one(
    cfg: TrainConfig, run: Path, fresh: bool, quiet: bool, console: Console | None
) -> dict[str, Any]:
    """Train ``cfg`` into ``run``, holding the run's lock (see :func:`run_lock`).

    Decided under the lock, since another process may have finished or
    started the run meanwhile: a finished run with the same settings is reused
    (unless ``fresh``), an unfinished one continues from its last completed
    epoch, anything else is trained from scratch.
    """
    with run_lock(run, console):
        reason = _reuse(run, cfg) if not fresh else " (--fresh asked for)"
        if reason is None:
            summary = json.loads((run / "summary.json").read_text())
            if console is not None:
                console.print(f"reusing {run} (another process finished it)")
            return {**summary, "reused": True}
        go_on = reason == _UNFINISHED and (run / "state" / "progress.json").is_file()
        if run.exists() and not go_on:
            shutil.rmtree(run)
        if console is not None:
            said = " (continuing an unfinished run)" if go_on else reason
            console.print(f"training {run.name} ...{said}")
        summary = resume(run, quiet=quiet) if go_on else train(cfg, quiet=quiet)
        return {**summary, "reused": False}


_UNFINISHED = " (an unfinished run)"
_OTHER = " (the earlier run had other settings)"


def _reuse(run: Path, cfg: TrainConfig) -> str | None:
    """``None`` if ``run`` is finished with the settings of ``cfg``, else why it is trained.

    :data:`_UNFINISHED` means it has the settings of ``cfg`` but did not finish.
    """
    if not run.exists():
        return ""
    try:
        earlier = TrainConfig.load(run / "config.yaml")
    except (ValueError, OSError):
        return _OTHER
    # the trainer fills in DialogueGCN's speaker count from the data when unset
    if "num_speakers" in earlier.model_options and "num_speakers" not in cfg.model_options:
        options = {k: v for k, v in earlier.model_options.items() if k != "num_speakers"}
        earlier = dataclasses.replace(earlier, model_options=options)
    if earlier != cfg:
        return _OTHER
    if not (run / "summary.json").is_file():
        return _UNFINISHED
    return None


def mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def summarise(
    results: Mapping[str, list[dict[str, Any]]], metrics: list[str]
) -> list[dict[str, Any]]:
    """One row per variant: mean and std of each test metric, parameters, seconds per
    epoch, and under ``"valid"`` the same metrics on the validation split (what a
    choice between the variants may be made on)."""
    rows = []
    for name, runs in results.items():
        row: dict[str, Any] = {"variant": name, "seeds": len(runs)}
        for m in metrics:
            row[m] = mean_std([r["test"][m] for r in runs])
        valid = [r.get("valid") or {} for r in runs]
        row["valid"] = {
            m: mean_std([v[m] for v in valid]) for m in metrics if all(m in v for v in valid)
        }
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
    last = metrics[-1]
    # the validation scores only where validation chose the epoch (CMU-MOSI's
    # validation videos come from its leaky training features: 100 % means nothing)
    validated = all(
        last in (row.get("valid") or {}) and str(row.get("selection", "")).startswith("valid")
        for row in rows
    )
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
    if validated:
        said = ", ".join(f"{row['variant']} {100 * row['valid'][last][0]:.2f}" for row in rows)
        console.print(f"validation {last} (%, mean over seeds): {said}")


def save_rows(
    path: Path, rows: list[dict[str, Any]], extra: Mapping[str, Any] | None = None
) -> None:
    atomic_write_json(path, {**(extra or {}), "rows": rows})
