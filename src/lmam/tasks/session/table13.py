"""Table XIII: DHCN against DHCN* (LMAM in the readout) over seeds, with paired t-tests.

Every seed trains both models on the same split (the seed draws the held-out
validation sessions and, for a subsample run, the training cases), so the
seeds pair the runs for SciPy's paired t-test. The epoch kept is the best on
validation P@20; the test metrics of that epoch are tabulated, beside the
paper's Table XIII.

Runs are resumable across sessions: a run that finished with the same
settings is reused, one that was interrupted continues from its last
checkpoint, and a record of every finished run (its configuration, metrics
and summary; no weights: :mod:`lmam.experiments.records`) kept in
``OUT/runs/<tag>.jsonl`` stands in for a run directory that is gone.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

import numpy as np

from lmam.data.errors import DataError
from lmam.errors import OptionError, RunError
from lmam.experiments.paper import SESSION_METRICS, TABLE_XIII
from lmam.experiments.records import read_record, save_record
from lmam.experiments.reproduce.formatting import num, pvalue
from lmam.experiments.reproduce.report import Report, write_index
from lmam.experiments.stats import paired_ttest
from lmam.tasks.session.train import PROGRESS, SessionConfig, SessionTrainer

MODELS = {"DHCN": False, "DHCN*": True}
"""Row name -> ``lmam`` flag."""
SAME = ("lmam", "seed", "epochs", "batch_size", "lr", "weight_decay", "dim", "layers", "beta",
        "lmam_rank", "max_len", "valid_fraction", "max_cases")  # fmt: skip
"""The settings that must agree for a finished run (or record) to be reused."""


def tag(max_cases: int | None) -> str:
    """The folder name of a table's runs and outputs: ``diginetica`` or ``diginetica-subN``."""
    return "diginetica" if max_cases is None else f"diginetica-sub{max_cases}"


def run_name(lmam: bool, seed: int) -> str:
    return f"dhcn{'-lmam' if lmam else ''}-s{seed}"


def _same(a: SessionConfig, b: SessionConfig) -> bool:
    return all(getattr(a, k) == getattr(b, k) for k in SAME)


def _finished(folder: Path, config: SessionConfig) -> dict[str, Any] | None:
    """The summary of a finished run in ``folder`` with ``config``'s settings, else ``None``."""
    if not (folder / "summary.json").exists() or not (folder / "config.yaml").exists():
        return None
    summary = json.loads((folder / "summary.json").read_text())
    return _matching(SessionConfig.load(folder / "config.yaml"), summary, config)


def _recorded(address: Path, config: SessionConfig) -> dict[str, Any] | None:
    """The summary of the run recorded at ``address`` (``RECORDS/RUN``, see
    :mod:`lmam.experiments.records`) with ``config``'s settings, else ``None``."""
    record = read_record(address)
    if record is None:
        return None
    try:
        kept = SessionConfig(**record["config"])
    except TypeError as e:
        raise RunError(f"{address}: the record is not of a session run ({e})") from None
    return _matching(kept, record["summary"], config)


def _matching(
    kept: SessionConfig, summary: dict[str, Any], config: SessionConfig
) -> dict[str, Any] | None:
    """``summary`` if the run it is of (``kept``) finished with ``config``'s settings."""
    if not _same(kept, config):
        return None
    return summary if summary.get("epochs_run") == config.epochs else None


def _train(config: SessionConfig, run: Path) -> dict[str, Any]:
    """Train ``config`` into ``run``, continuing it if it has a checkpoint with the
    same settings (a run with other settings there is an error, never overwritten)."""
    if (run / "config.yaml").exists():
        old = SessionConfig.load(run / "config.yaml")
        if not _same(old, config) and not (
            _same(old, dataclasses.replace(config, epochs=old.epochs))
            and old.epochs < config.epochs
        ):
            raise OptionError(
                f"{run}: holds a run with other settings; remove it or choose another --runs-dir"
            )
        if (run / "state" / PROGRESS).exists() or (run / "state" / "partial.json").exists():
            old.epochs = config.epochs
            old.device = config.device
            return SessionTrainer(old, run_dir=run, resume=True, log=False).fit()
        shutil.rmtree(run)  # started but no checkpoint yet: start again
    return SessionTrainer(config, run_dir=run, log=False).fit()


def run_table13(
    data_dir: str,
    seeds: list[int],
    epochs: int = 10,
    max_cases: int | None = None,
    jobs: int = 2,
    runs_dir: Path = Path("runs/session/table13"),
    out: Path | None = Path("results"),
    device: str = "cpu",
    overrides: dict[str, Any] | None = None,
    log: bool = True,
) -> Report:
    """Train (or reuse) DHCN and DHCN* for every seed and tabulate them.

    Args:
        data_dir: the Diginetica folder (``all_train_seq.txt``, ``test.txt``).
        seeds: the seeds (at least 2 for the t-test).
        epochs: epochs per run; the epoch kept is the best on validation P@20.
        max_cases: train on a seeded subsample of this many cases (labelled so).
        jobs: runs trained at once, one thread each.
        runs_dir: run directories go under ``runs_dir/<tag>/``.
        out: the table goes to ``out/table13/<tag>/`` and the run records to
            ``out/runs/<tag>.jsonl`` (``None``: write nothing).
        overrides: other :class:`SessionConfig` fields (``dim``, ``batch_size``, ...).

    Raises:
        OptionError: bad seeds, jobs or settings (named).
    """
    if not seeds or len(set(seeds)) != len(seeds):
        raise OptionError(f"seeds {seeds}: want one or more distinct seeds")
    if jobs < 1:
        raise OptionError(f"jobs {jobs}: want 1 or more")
    name = tag(max_cases)
    runs_dir = Path(runs_dir) / name
    records = None if out is None else Path(out) / "runs" / name
    todo: list[tuple[str, int, SessionConfig, Path]] = []
    summaries: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in MODELS}
    for model, lmam in MODELS.items():
        for seed in seeds:
            config = SessionConfig(
                data_dir=data_dir, out_dir=str(runs_dir), name=run_name(lmam, seed), lmam=lmam,
                seed=seed, epochs=epochs, max_cases=max_cases, device=device, threads=1,
                **(overrides or {}),
            )  # fmt: skip
            config.check()
            run = runs_dir / config.name  # type: ignore[operator]
            found = _finished(run, config)
            if found and records is not None:
                save_record(run, records / run.name)  # a no-op where the record keeps it
            elif not found and records is not None:
                found = _recorded(records / run.name, config)
            if found:
                summaries[model][seed] = found
                if log:
                    print(f"reusing {run.name} (finished earlier with the same settings)")
            else:
                todo.append((model, seed, config, run))
    if todo and not Path(data_dir).is_dir():  # before anything is written
        raise DataError("no such folder", file=data_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)

    def done(model: str, seed: int, run: Path, summary: dict[str, Any]) -> None:
        summaries[model][seed] = summary
        if records is not None:
            save_record(run, records / run.name)
        if log:
            print(f"finished {run.name}: test P@20 {summary['test']['P@20']:.2f}", flush=True)

    if jobs == 1 or len(todo) <= 1:
        for model, seed, config, run in todo:
            done(model, seed, run, _train(config, run))
    else:
        from lmam.experiments.grid import worker_pool

        with worker_pool(jobs) as pool:
            futures = {
                pool.submit(_train, config, run): (model, seed, run)
                for model, seed, config, run in todo
            }
            for future in as_completed(futures):
                model, seed, run = futures[future]
                done(model, seed, run, future.result())
    report = make_report(summaries, seeds, epochs, max_cases)
    if out is not None:
        from lmam.experiments.reproduce.tables import TABLES

        report.write(Path(out) / "table13" / name)
        write_index(Path(out), list(TABLES))  # the results page shows it with the others
    return report


def _span(summaries: dict[str, dict[int, dict[str, Any]]], seeds: list[int], key: str) -> str:
    """``"n"`` or ``"lo-hi"`` of a count over the runs (e.g. each seed's validation cases)."""
    counts = sorted({int(summaries[m][s].get(key, 0)) for m in MODELS for s in seeds})
    return f"{counts[0]:,}" if len(counts) == 1 else f"{counts[0]:,}-{counts[-1]:,}"


def make_report(
    summaries: dict[str, dict[int, dict[str, Any]]],
    seeds: list[int],
    epochs: int,
    max_cases: int | None,
) -> Report:
    """Rows: ours (mean ± std over seeds) and the paper's per model, the difference,
    and the paired t-test's p per metric."""
    values = {
        m: np.array([[summaries[m][s]["test"][k] for k in SESSION_METRICS] for s in seeds])
        for m in MODELS
    }
    rows: list[list[str]] = []
    for m in MODELS:
        mean = values[m].mean(0)
        std = values[m].std(0, ddof=1) if len(seeds) > 1 else np.zeros_like(mean)
        rows.append([f"{m} (ours)"] + [f"{a:.2f} ± {b:.2f}" for a, b in zip(mean, std)])
        rows.append([f"{m} (paper)"] + [num(TABLE_XIII.rows[m][k]) for k in SESSION_METRICS])
    diff = values["DHCN*"] - values["DHCN"]
    tests = [
        paired_ttest(values["DHCN*"][:, j], values["DHCN"][:, j])
        for j in range(len(SESSION_METRICS))
    ]
    rows.append(["DHCN* − DHCN (ours)"] + [f"{d:+.2f}" for d in diff.mean(0)])
    rows.append(
        ["paired t-test p (ours)"] + [pvalue(p) if len(seeds) > 1 else "n/a" for _, p in tests]
    )
    paper_delta = [
        TABLE_XIII.rows["DHCN*"][k] - TABLE_XIII.rows["DHCN"][k] for k in SESSION_METRICS
    ]
    rows.append(["DHCN* − DHCN (paper)"] + [f"{d:+.2f}" for d in paper_delta])
    first = summaries["DHCN"][seeds[0]]
    seconds = {
        m: float(np.mean([summaries[m][s]["seconds_per_epoch"] for s in seeds])) for m in MODELS
    }
    data = (
        f"a seeded subsample of {first['train_cases']:,} training cases (not a reproduction: "
        "the published figures train on every training case)"
        if max_cases is not None
        else f"all {first['train_cases']:,} training cases"
    )
    notes = [
        f"Diginetica, {data}; {len(seeds)} seeds ({', '.join(map(str, seeds))}), {epochs} epochs "
        f"each, the epoch kept by validation P@20 ({_span(summaries, seeds, 'valid_cases')} "
        "validation cases from training sessions held out, drawn by the seed); test P@K and "
        "MRR@K (%) over "
        f"all {first.get('test_cases', 0):,} test cases. The paper picks the "
        "best test epoch; the JSON keeps that optimistic figure too, labelled.",
        f"Parameters: DHCN {first['parameters']:,}, DHCN* "
        f"{summaries['DHCN*'][seeds[0]]['parameters']:,}. Seconds per training epoch (1 thread, "
        f"mean over seeds): DHCN {seconds['DHCN']:.1f}, DHCN* {seconds['DHCN*']:.1f}.",
        "Command: `lmam session table13 "
        + (f"--max-cases {max_cases} " if max_cases is not None else "")
        + f"--epochs {epochs} --seeds {len(seeds)}`.",
    ]
    payload = {
        "seeds": seeds,
        "epochs": epochs,
        "max_cases": max_cases,
        "paper": {m: TABLE_XIII.rows[m] for m in MODELS},
        "paired_ttests": {
            k: {"mean_difference": float(diff[:, j].mean()), "t": t, "p": p}
            for j, (k, (t, p)) in enumerate(zip(SESSION_METRICS, tests))
        },
        "runs": {m: {str(s): summaries[m][s] for s in seeds} for m in MODELS},
    }
    return Report(
        name="table13",
        dataset=tag(max_cases),
        title="Table XIII: DHCN and DHCN* (LMAM) for session recommendation, Diginetica",
        header=["model", *SESSION_METRICS],
        rows=rows,
        notes=notes,
        payload=payload,
    )
