"""Finished runs on disk, grouped by configuration and summarised over seeds.

A run directory (made by ``lmam train``) holds ``config.yaml``; a finished one
also ``summary.json`` and ``metrics.json``. Runs whose configurations differ
only in ``seed``, ``name``, ``out_dir``, ``threads`` (and the speaker count
that the trainer fills in for DialogueGCN) form one group; a group's row has
the mean and sample standard deviation of each metric over its seeds.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmam.errors import OptionError, RunError
from lmam.experiments.grid import mean_std
from lmam.experiments.records import SUFFIX, read_records
from lmam.train.config import TrainConfig
from lmam.train.engine import FAILED, failure_line

IGNORED = ("seed", "name", "out_dir", "threads")
"""Config fields that do not make another configuration (one group spans them)."""
DERIVED_MODEL_OPTIONS = ("num_speakers",)
"""Model options the trainer fills in from the data (DialogueGCN's speaker count)."""
CLASSIFICATION_METRICS = ("accuracy", "weighted_f1")
REGRESSION_METRICS = ("mae", "pearson_r", "acc2", "f1", "acc7")
PERCENT_METRICS = ("accuracy", "weighted_f1", "macro_f1", "acc2", "f1", "acc7")
"""Metrics that are fractions, shown in percent; others (``mae``, ``pearson_r``) as they are."""
SPLITS = ("valid", "test")


@dataclass
class Run:
    """A finished run: its directory (or its record), configuration and ``summary.json``."""

    path: Path
    config: TrainConfig
    summary: dict[str, Any]
    recorded_history: list[dict[str, Any]] | None = None
    """The per-epoch metrics of a run read from its record (:mod:`lmam.experiments.records`)."""

    def history(self) -> list[dict[str, Any]]:
        """``metrics.json``'s per-epoch list (``epoch``, ``loss``, ``train``, ``valid``, ``test``)."""
        if self.recorded_history is not None:
            return self.recorded_history
        file = self.path / "metrics.json"
        try:
            return list(json.loads(file.read_text())["history"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise RunError(f"{file}: cannot read the per-epoch metrics ({e})") from None


def find_runs(dirs: list[Path]) -> tuple[list[Run], list[tuple[Path, str]]]:
    """The runs under ``dirs``: each a run directory, a folder searched recursively,
    or a file of run records (``results/runs/DATASET.jsonl``).

    A run directory is one holding ``config.yaml``; its subfolders are not
    searched. A run is given once however many ``dirs`` lead to it.

    Returns:
        ``(finished runs, [(run directory, why skipped)])``, each in path order;
        skipped: unfinished runs (no ``summary.json``) and unreadable files.

    Raises:
        RunError: a DIR that does not exist, is not a folder, or holds no run
            directory (naming it).
    """
    finished: list[Run] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for d in dirs:
        d = Path(d)
        if d.suffix == SUFFIX and d.is_file():
            for name, record in read_records(d).items():
                run, reason = _from_record(d / name, record)
                if run is None:
                    skipped.append((d / name, reason))
                else:
                    finished.append(run)
            continue
        if not d.exists():
            raise RunError(f"{d}: no such directory")
        if not d.is_dir():
            raise RunError(f"{d}: not a directory (give a run directory or a folder of runs)")
        found = _run_dirs(d)
        if not found:
            raise RunError(f"{d}: holds no run directory (a folder with config.yaml)")
        for path in found:
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
            run, reason = _load(path)
            if run is None:
                skipped.append((path, reason))
            else:
                finished.append(run)
    return finished, skipped


def _run_dirs(root: Path) -> list[Path]:
    """Run directories at or under ``root``, sorted, not looking inside a run."""
    out = []
    for here, subdirs, files in os.walk(root):
        if "config.yaml" in files:
            out.append(Path(here))
            subdirs.clear()
        else:
            subdirs.sort()
    return sorted(out)


def _from_record(path: Path, record: dict[str, Any]) -> tuple[Run | None, str]:
    """The finished run of a record, or ``None`` and a one-line reason to skip it."""
    try:
        config = TrainConfig.from_dict(record["config"])
    except ValueError as e:
        return None, f"its config cannot be used: {' '.join(str(e).split())}"
    summary = record["summary"]
    if not all(isinstance(summary.get(s), dict) for s in SPLITS):
        return None, "its summary has no valid and test metrics"
    history = (record.get("metrics") or {}).get("history")
    return Run(path, config, summary, list(history) if history is not None else None), ""


def _load(path: Path) -> tuple[Run | None, str]:
    """The finished run at ``path``, or ``None`` and a one-line reason to skip it."""
    if (path / FAILED).is_file():
        return None, failure_line(path)
    if not (path / "summary.json").is_file():
        return None, "unfinished (no summary.json)"
    try:
        config = TrainConfig.load(path / "config.yaml")
    except ValueError as e:
        return None, f"config.yaml cannot be used: {' '.join(str(e).split())}"
    try:
        summary = json.loads((path / "summary.json").read_text())
    except (OSError, ValueError) as e:
        return None, f"summary.json cannot be read: {e}"
    if not isinstance(summary, dict) or not all(isinstance(summary.get(s), dict) for s in SPLITS):
        return None, "summary.json has no valid and test metrics"
    return Run(path, config, summary), ""


def settings(config: TrainConfig) -> dict[str, Any]:
    """The configuration that defines a group: ``config`` as a dict without
    :data:`IGNORED` fields and derived model options."""
    data = {k: v for k, v in config.to_dict().items() if k not in IGNORED}
    data["model_options"] = {
        k: v for k, v in data["model_options"].items() if k not in DERIVED_MODEL_OPTIONS
    }
    return data


def group_runs(runs: list[Run]) -> dict[str, list[Run]]:
    """Runs grouped by :func:`settings`, each group's runs in seed order.

    Returns:
        ``{label: [runs]}`` in the order groups first appear. A label names the
        settings that differ between groups (``backbone=dialoguegcn
        fusion=lmam embed=early_residual``), or ``dataset/backbone`` when there
        is one group.
    """
    keyed: dict[str, list[Run]] = {}
    for run in runs:
        keyed.setdefault(json.dumps(settings(run.config), sort_keys=True), []).append(run)
    flat = [_flatten(json.loads(k)) for k in keyed]
    differing = [k for k in _keys(flat) if len({repr(f.get(k, _MISSING)) for f in flat}) > 1]
    out: dict[str, list[Run]] = {}
    for runs_of, fields in zip(keyed.values(), flat):
        if differing:
            label = " ".join(
                f"{k}={_show(fields[k]) if k in fields else _UNSET}" for k in differing
            )
        else:
            label = f"{fields['dataset']}/{fields['backbone']}"
        if label in out:  # settings that only differ past what a label shows
            label = f"{label} #{len(out) + 1}"
        out[label] = sorted(runs_of, key=lambda r: r.config.seed)
    return out


_MISSING = object()
_UNSET = "default"
"""How a label shows an option that one group sets and another leaves at its default."""


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    """``{"fusion_options": {"rank": 45}}`` -> ``{"fusion_options.rank": 45}`` (one level)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update({f"{k}.{sub}": value for sub, value in v.items()})
        else:
            out[k] = v
    return out


def _keys(flat: list[dict[str, Any]]) -> list[str]:
    """Every key of ``flat``, in the config's field order."""
    order = [f.name for f in dataclasses.fields(TrainConfig)]
    keys = {k for f in flat for k in f}
    return sorted(keys, key=lambda k: (order.index(k.split(".")[0]), k))


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def default_metrics(runs: list[Run], split: str = "test") -> list[str]:
    """``accuracy`` and ``weighted_f1`` for classification runs;
    ``mae``, ``pearson_r``, ``acc2``, ``f1``, ``acc7`` (those every run has)
    when every run is a regression run (its metrics have ``mae``)."""
    check_split(split)
    splits = [r.summary[split] for r in runs]
    names = REGRESSION_METRICS if all("mae" in s for s in splits) else CLASSIFICATION_METRICS
    return [m for m in names if all(m in s for s in splits)]


def check_split(split: str) -> None:
    """Raises ``OptionError`` unless ``split`` is ``valid`` or ``test``."""
    if split not in SPLITS:
        raise OptionError(f"--split must be valid or test, got {split!r}")


def check_metrics(runs: list[Run], metrics: list[str], split: str) -> None:
    """Raises ``OptionError`` for a metric that a run's ``split`` lacks, naming the run."""
    check_split(split)
    if not metrics:
        raise OptionError("the runs share no metric: name one with --metric")
    for run in runs:
        scores = run.summary[split]
        for m in metrics:
            if not isinstance(scores.get(m), (int, float)):
                known = ", ".join(k for k, v in scores.items() if isinstance(v, (int, float)))
                raise OptionError(
                    f"metric {m!r} is not in the {split} metrics of {run.path}; it has: {known}"
                )


def summarise_runs(
    groups: dict[str, list[Run]], metrics: list[str], split: str = "test"
) -> list[dict[str, Any]]:
    """One row per group.

    Returns:
        ``[{"group": label, "dataset", "settings": {field: value}, "seeds": [int],
        "runs": [path], <metric>: (mean, std), "values": {metric: [per seed]},
        "parameters": int, "seconds_per_epoch": (mean, std), "selection": str}]``;
        std is the sample standard deviation (ddof=1; 0 for one seed).
    """
    rows = []
    for label, runs in groups.items():
        row: dict[str, Any] = {
            "group": label,
            "dataset": runs[0].summary.get("dataset", runs[0].config.dataset),
            "settings": settings(runs[0].config),
            "seeds": [r.config.seed for r in runs],
            "runs": [str(r.path) for r in runs],
        }
        values = {m: [float(r.summary[split][m]) for r in runs] for m in metrics}
        for m in metrics:
            row[m] = mean_std(values[m])
        row["values"] = values
        row["parameters"] = int(runs[0].summary.get("parameters", 0))
        row["seconds_per_epoch"] = mean_std(
            [float(r.summary.get("seconds_per_epoch", float("nan"))) for r in runs]
        )
        row["selection"] = "; ".join(dict.fromkeys(str(r.summary.get("selection")) for r in runs))
        rows.append(row)
    return rows


def show_value(metric: str, value: tuple[float, float]) -> str:
    """``mean ± std`` of a metric, in percent for fractions."""
    mean, std = value
    if metric in PERCENT_METRICS:
        return f"{100 * mean:.2f} ± {100 * std:.2f}"
    return f"{mean:.4f} ± {std:.4f}"


__all__ = [
    "Run",
    "check_metrics",
    "check_split",
    "default_metrics",
    "find_runs",
    "group_runs",
    "settings",
    "show_value",
    "summarise_runs",
]
