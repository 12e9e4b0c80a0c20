"""``lmam reproduce tuned``: each backbone with and without LMAM, tuned with the same budget.

For every dataset and backbone, two studies (:mod:`lmam.experiments.tune`) of
the same number of trials, on validation data only: the backbone with its own
fusion, and the backbone with LMAM at its default embedding point (early fusion
with a residual, the paper's "*" rows). Both search the same training settings
and backbone options; the LMAM side also searches LMAM's rank and dropout (its
declared space). The best trial of each is retrained on seeds 0..N-1 with the
dataset's protocol, the test split is read once per run, and the two sides are
compared with a paired t-test over the seeds.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

from lmam.experiments.grid import worker_pool
from lmam.experiments.reproduce.variants import base, label, star
from lmam.experiments.stats import paired_ttest
from lmam.experiments.tune import (
    Study,
    StudySettings,
    final_runs,
    open_study,
    run_study,
    search_space,
)
from lmam.outputs import atomic_write_json, atomic_write_text
from lmam.train.config import TrainConfig

BACKBONES = ("bclstm", "emocaps", "dialoguernn")
"""The backbones compared, cheapest first (DialogueRNN costs about five times bc-LSTM)."""

DATASETS: dict[str, dict[str, Any]] = {
    "mosi": {"dataset": "mosi", "dataset_options": {"target": "sentiment"}},
    "iemocap-text": {
        "dataset": "iemocap-text",
        "dataset_options": {"text_encoder": "e5-small"},
        "epochs": 40,
        "patience": 8,
    },
    "meld-text": {
        "dataset": "meld-text",
        "dataset_options": {"text_encoder": "mpnet"},
        "epochs": 30,
        "patience": 6,
    },
}
"""Each dataset's fixed settings. CMU-MOSI: regression on its continuous labels with
its fixed protocol (40 epochs, the last kept), tuned on the validation videos carved
from train. IEMOCAP-text and MELD-text: the text encoder chosen on validation (e5-small
and mpnet), the epoch kept by validation, with early stopping; the epoch caps and
patience were fixed in advance for cost, the same for both sides."""

REPORTED = {"mosi": "acc2", "iemocap-text": "weighted_f1", "meld-text": "weighted_f1"}
"""The test metric of each dataset's table (the paper's)."""

SIDES = ("own", "lmam")


def side_config(dataset: str, backbone: str, side: str) -> TrainConfig:
    """The config a study tunes: the dataset's settings and the backbone with its own
    fusion (``own``) or with LMAM (``lmam``)."""
    variant = base(backbone) if side == "own" else star(backbone)
    # random batches: the protocol of the recorded studies and their final runs
    return TrainConfig(**DATASETS[dataset], **variant, batching="random", threads=1)


def study_folder(root: Path, dataset: str, backbone: str, side: str) -> Path:
    return root / dataset / f"{backbone}-{side}"


def open_side(root: Path, dataset: str, backbone: str, side: str, trials: int) -> Study:
    """Start or continue one side's study."""
    config = side_config(dataset, backbone, side)
    return open_study(
        study_folder(root, dataset, backbone, side),
        config,
        search_space(config),
        StudySettings(trials=trials),
    )


def run_side(root: str, dataset: str, backbone: str, side: str, trials: int, seeds: int) -> str:
    """One study to its budget, then its best retrained on the seeds (a process's job)."""
    import torch

    torch.set_num_threads(1)
    study = open_side(Path(root), dataset, backbone, side, trials)
    start = time.perf_counter()
    if not (study.folder / "best.json").exists() or _short(study, trials):
        run_study(study, quiet=True)
    tuned = time.perf_counter() - start
    final_runs(study, list(range(seeds)))
    _note_wall(study.folder, tuned, time.perf_counter() - start - tuned)
    return str(study.folder)


def _short(study: Study, trials: int) -> bool:
    data = json.loads((study.folder / "best.json").read_text())
    return int(data["trials"]) < trials


def _note_wall(folder: Path, tune_seconds: float, final_seconds: float) -> None:
    path = folder / "wall.json"
    calls = json.loads(path.read_text()) if path.exists() else []
    calls.append(
        {
            "tune_seconds": tune_seconds,
            "final_seconds": final_seconds,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
    )
    atomic_write_json(path, calls)


def run_all(
    root: Path,
    datasets: list[str],
    backbones: list[str],
    trials: int,
    seeds: int,
    jobs: int,
    console: Any = None,
) -> None:
    """Every side of every dataset and backbone, ``jobs`` studies at once."""
    tasks = [(d, b, s) for d in datasets for b in backbones for s in SIDES]
    with worker_pool(jobs) as pool:  # its workers stop when this process is killed
        futures = {
            pool.submit(run_side, str(root), d, b, s, trials, seeds): (d, b, s) for d, b, s in tasks
        }
        for future in as_completed(futures):
            folder = future.result()
            if console is not None:
                console.print(f"done {folder}", markup=False)


def side_result(root: Path, dataset: str, backbone: str, side: str) -> dict[str, Any] | None:
    """A finished side: its study's best and final runs, or ``None``."""
    folder = study_folder(root, dataset, backbone, side)
    try:
        best = json.loads((folder / "best.json").read_text())
        final = json.loads((folder / "final.json").read_text())
    except (OSError, ValueError):
        return None
    walls = (
        json.loads((folder / "wall.json").read_text()) if (folder / "wall.json").exists() else []
    )
    return {"best": best, "final": final, "wall": walls}


def table(root: Path, datasets: list[str], backbones: list[str]) -> dict[str, Any]:
    """The comparison rows of every finished pair of sides."""
    rows = []
    for dataset in datasets:
        metric = REPORTED[dataset]
        for backbone in backbones:
            own = side_result(root, dataset, backbone, "own")
            with_lmam = side_result(root, dataset, backbone, "lmam")
            if own is None or with_lmam is None:
                continue
            x = [float(r["test"][metric]) for r in with_lmam["final"]["runs"]]
            y = [float(r["test"][metric]) for r in own["final"]["runs"]]
            n = min(len(x), len(y))
            p = paired_ttest(x[:n], y[:n])[1] if n >= 2 else math.nan
            tuned = own["best"]["metric"]
            tx = [float(r["test"][tuned]) for r in with_lmam["final"]["runs"]][:n]
            ty = [float(r["test"][tuned]) for r in own["final"]["runs"]][:n]
            rows.append(
                {
                    "tuned_metric_test": [sum(ty) / n, sum(tx) / n],
                    "tuned_metric_p": paired_ttest(tx, ty)[1] if n >= 2 else math.nan,
                    "dataset": dataset,
                    "backbone": backbone,
                    "label": label(backbone),
                    "metric": metric,
                    "without": sum(y) / len(y),
                    "with": sum(x) / len(x),
                    "delta": sum(x[:n]) / n - sum(y[:n]) / n,
                    "p": p,
                    "seeds": n,
                    "valid_without": own["best"]["best_valid"],
                    "valid_with": with_lmam["best"]["best_valid"],
                    "valid_metric": own["best"]["metric"],
                    "trials": [own["best"]["trials"], with_lmam["best"]["trials"]],
                    "pruned": [own["best"]["pruned"], with_lmam["best"]["pruned"]],
                    "params_without": own["best"]["params"],
                    "params_with": with_lmam["best"]["params"],
                    "wall_minutes": [
                        sum(c["tune_seconds"] + c["final_seconds"] for c in side["wall"]) / 60
                        for side in (own, with_lmam)
                    ],
                }
            )
    return {"rows": rows}


def merge_recorded(result: dict[str, Any], recorded: Path) -> dict[str, Any]:
    """``result`` with the rows of an earlier ``tuned.json`` whose studies are not here.

    The studies live under ``runs/`` (not kept in the repository); the table in
    ``results/`` is their record. A pair measured on another machine (or before its run
    folder was removed) keeps its recorded row, marked ``"recorded": true``; a pair
    whose studies are here is always taken from them.
    """
    if not recorded.exists():
        return result
    earlier = json.loads(recorded.read_text())
    here = {(r["dataset"], r["backbone"]) for r in result["rows"]}
    kept = [
        r | {"recorded": True}
        for r in earlier.get("rows", [])
        if (r["dataset"], r["backbone"]) not in here
    ]
    order = {d: i for i, d in enumerate(DATASETS)}
    rows = sorted(
        result["rows"] + kept,
        key=lambda r: (order.get(r["dataset"], len(order)), BACKBONES.index(r["backbone"])),
    )
    return {"rows": rows}


def points(metric: str, value: float) -> str:
    """A metric as the tables print it: MAE as is, the others in percent."""
    return f"{value:.3f}" if metric == "mae" else f"{100 * value:.2f}"


def markdown(result: dict[str, Any], command: str) -> str:
    """The results page section of the tuned comparison."""
    lines = [
        "# Equal-budget comparison: each backbone tuned with and without LMAM",
        "",
        f"Made by `{command}`.",
        "",
        "Each side is an Optuna study (TPE, median pruning) of the same number of trials on "
        "validation data only: the backbone with its own fusion, and with LMAM at its default "
        "embedding point (early fusion with a residual). Both search the learning rate, weight "
        "decay, dropout, batch size and the backbone's widths; the LMAM side also LMAM's rank "
        "and dropout. The best trial of each side is retrained on 5 seeds with the dataset's "
        "protocol and the test split read once per run; p is a paired t-test (SciPy "
        "`ttest_rel`) over the seeds. Test metric: Acc-2 (%) for CMU-MOSI, weighted F1 (%) "
        "otherwise; the studies optimise the validation metric in the last columns.",
        "",
        "| dataset | backbone | tuned without | tuned with LMAM | Δ | p | seeds | trials "
        "(pruned) | best valid without / with | wall (min) |",
        "|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        m = r["metric"]
        vm = r["valid_metric"]
        mark = " †" if r.get("recorded") else ""
        lines.append(
            f"| {r['dataset']}{mark} | {r['label']} | {points(m, r['without'])} | "
            f"{points(m, r['with'])} | {100 * r['delta']:+.2f} | {r['p']:.2g} | {r['seeds']} | "
            f"{r['trials'][0]} ({r['pruned'][0]}) / {r['trials'][1]} ({r['pruned'][1]}) | "
            f"{points(vm, r['valid_without'])} / {points(vm, r['valid_with'])} {vm} | "
            f"{r['wall_minutes'][0]:.0f} / {r['wall_minutes'][1]:.0f} |"
        )
    for r in result["rows"]:
        vm = r["valid_metric"]
        if vm != r["metric"]:
            a, b = r["tuned_metric_test"]
            lines.append(
                f"\n{r['dataset']}, {r['label']}: on test, the metric the studies optimised "
                f"({vm}) is {points(vm, a)} without and {points(vm, b)} with LMAM "
                f"(p {r['tuned_metric_p']:.2g}{'; lower is better' if vm == 'mae' else ''})."
            )
    if any(r.get("recorded") for r in result["rows"]):
        lines.append(
            "\n† kept from the earlier record of this table: its studies were run by an "
            "earlier call, and are not under this machine's runs folder."
        )
    ahead = [r for r in result["rows"] if r["delta"] > 0]
    sure = [r for r in ahead if r["p"] < 0.05]
    behind = [r for r in result["rows"] if r["delta"] < 0 and r["p"] < 0.05]
    lines += [
        "",
        f"LMAM ahead on average in {len(ahead)} of {len(result['rows'])} pairs, "
        f"{len(sure)} of them with p < 0.05; behind with p < 0.05 in {len(behind)}.",
        "",
        "The best settings of each side:",
        "",
    ]
    for r in result["rows"]:
        for side in ("without", "with"):
            params = ", ".join(f"{k}={_short_value(v)}" for k, v in r[f"params_{side}"].items())
            lines.append(f"- {r['dataset']}, {r['label']} {side} LMAM: {params}")
    return "\n".join(lines) + "\n"


def _short_value(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def write(result: dict[str, Any], out: Path, command: str) -> Path:
    """``out/tuned/README.md`` and ``tuned.json``, keeping the recorded rows of pairs
    whose studies are not under the runs folder (:func:`merge_recorded`)."""
    folder = out / "tuned"
    folder.mkdir(parents=True, exist_ok=True)
    result = merge_recorded(result, folder / "tuned.json")
    atomic_write_json(folder / "tuned.json", result)
    path = folder / "README.md"
    atomic_write_text(path, markdown(result, command))
    return path
