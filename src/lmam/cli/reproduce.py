"""``lmam reproduce TABLE``: one of the paper's tables (or Fig. 5) on the data we have."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lmam.data.detect import unknown_dataset
from lmam.errors import OptionError
from lmam.models import list_models

QUICK_SEEDS = 2
OTHER_TASKS = {
    "table13": "lmam session table13",
    "table14": "lmam humour table14 DATA_DIR",
}
"""The paper's tables of the other tasks (Section V-I), each its task's own command."""


def made_note(
    runs: dict[str, list[dict[str, Any]]],
    wall: float,
    jobs: int,
    earlier: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """How long a table took: the training time of all its runs, and the wall time
    of every call of this command that trained some of them (``earlier``: those
    recorded before, from :func:`earlier_calls`; this call is added if it trained)."""
    summaries = [r for rs in runs.values() for r in rs]
    trained = sum(not r.get("reused", False) for r in summaries)
    seconds = sum(r["seconds_per_epoch"] * r["epochs_run"] for r in summaries)
    calls = list(earlier or [])
    if trained:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        calls.append({"trained": trained, "wall_seconds": wall, "jobs": jobs, "date": when})
    said = "; ".join(
        f"{c['trained']} in {c['wall_seconds'] / 60:.1f} min ({c['jobs']} at once, {c['date']})"
        for c in calls
    )
    note = (
        f"Cost on this machine: its {len(summaries)} runs took {seconds / 60:.1f} min of "
        "training in all (one thread each). "
        + (
            f"Calls of this command that trained them: {said}."
            if calls
            else "No call of this command is on record as training them."
        )
    )
    return {
        "runs": len(summaries),
        "trained": trained,
        "training_seconds": seconds,
        "wall_seconds": wall,
        "jobs": jobs,
        "calls": calls,
        "note": note,
    }


def earlier_calls(report: Path) -> list[dict[str, Any]]:
    """The training calls recorded in an earlier report's JSON (none if absent or unreadable)."""
    try:
        made = json.loads(report.read_text(encoding="utf-8")).get("made") or {}
    except (OSError, ValueError, AttributeError):
        return []
    keys = {"trained", "wall_seconds", "jobs", "date"}
    if isinstance(made.get("calls"), list):
        return [c for c in made["calls"] if isinstance(c, dict) and keys <= c.keys()]
    if made.get("trained") and keys - {"date"} <= made.keys():  # before the calls were kept
        date = "date not recorded"
        return [{**{k: made[k] for k in ("trained", "wall_seconds", "jobs")}, "date": date}]
    return []


def reproduce_command(
    table: str = typer.Argument(
        ...,
        help="table2 ... table12, fig5, all, list (what each is), tuned (each backbone "
        "with and without LMAM, tuned with the same budget on validation data), or design "
        "(which of LMAM's choices matter, on validation data)",
    ),
    dataset: list[str] = typer.Option(
        None,
        "--dataset",
        help="a dataset name or path, instead of the table's defaults (repeatable)",
    ),
    data_path: str | None = typer.Option(None, help="the files of a registered dataset"),
    seeds: int | None = typer.Option(
        None, min=1, help="default: 5 for Tables II-IV, VI-VIII, else 3"
    ),
    jobs: int = typer.Option(2, min=1, help="runs trained at once, one thread each"),
    quick: bool = typer.Option(
        False, help=f"a smoke test: {QUICK_SEEDS} seeds of one epoch, into separate folders"
    ),
    fresh: bool = typer.Option(False, help="retrain runs that finished earlier"),
    retrain: list[str] = typer.Option(
        None,
        "--retrain",
        help="retrain the finished runs of this backbone, reusing the others (repeatable)",
    ),
    runs_dir: Path = typer.Option(Path("runs/reproduce"), help="where the runs are trained"),
    out: Path = typer.Option(Path("results"), help="where the tables and figures are written"),
    trials: int = typer.Option(
        30,
        min=0,
        help="tuned: the trials of every study (at least 1); design: of the importance "
        "study (0: the ablations only)",
    ),
    backbone: list[str] = typer.Option(
        None, "--backbone", help="tuned: the backbones (default bclstm, emocaps, dialoguernn)"
    ),
    ablations: bool = typer.Option(
        True,
        help="design: train the one-factor ablations (--no-ablations: run the importance "
        "study alone and keep the ablations OUT/design/design.json records)",
    ),
) -> None:
    """Reproduce a table of the LMAM paper: trains what it needs (a finished run is
    reused, an interrupted one continues), then writes Markdown, JSON and PNGs under
    OUT/TABLE/DATASET, with the paper's numbers beside ours. The record of every run
    (configuration and metrics, no weights) is kept in OUT/runs/DATASET.jsonl, and a
    run missing from RUNS_DIR is restored from it instead of trained again."""
    from lmam.experiments.reproduce.report import write_index
    from lmam.experiments.reproduce.setting import Setting, dataset_tag
    from lmam.experiments.reproduce.tables import TABLES

    if table == "tuned":
        _tuned(dataset, backbone, trials, seeds or 5, jobs, runs_dir, out)
        return
    if table == "design":
        _design(dataset, trials, runs_dir, out, ablations)
        return
    if table == "list":
        caption = "; ".join(f"{name}: {command}" for name, command in OTHER_TASKS.items())
        listing = Table(title="lmam reproduce TABLE", caption=caption)
        for column in ("table", "what", "datasets (default)", "seeds"):
            listing.add_column(column)
        for name, spec in TABLES.items():
            listing.add_row(name, spec.caption, ", ".join(spec.datasets), str(spec.seeds))
        Console(emoji=False, highlight=False).print(listing)
        return
    retrain = retrain or []
    known = list_models()
    for name in retrain:
        if name not in known:
            raise OptionError(f"--retrain {name!r}: want a backbone, one of {', '.join(known)}")
    names = list(TABLES) if table == "all" else [table]
    for name in names:
        if name in OTHER_TASKS:
            raise OptionError(f"table {name!r} is another task's: run `{OTHER_TASKS[name]}`")
        if name not in TABLES:
            raise OptionError(f"table {name!r}: want one of {', '.join(TABLES)}, all or list")
    # progress and "wrote" lines (the tables go to files): standard error, one line each
    console = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)
    if quick:
        runs_dir = runs_dir.with_name(runs_dir.name + "-quick")
        out = out.with_name(out.name + "-quick")
    for name in names:
        datasets = dataset or list(TABLES[name].datasets)
        if data_path is not None and len(datasets) != 1:
            raise OptionError(
                f"--data-path: {name} runs on {', '.join(datasets)}; name the one dataset "
                "the path is for with --dataset"
            )
        for ds in datasets:  # before any run is queued
            unknown = unknown_dataset(ds)
            if unknown is not None:
                raise OptionError(f"--dataset {ds}: {unknown}")
    for name in names:
        spec = TABLES[name]
        n = QUICK_SEEDS if quick and seeds is None else seeds or spec.seeds
        for ds in dataset or list(spec.datasets):
            tag = dataset_tag(ds)
            setting = Setting(
                ds,
                data_path,
                list(range(n)),
                runs_dir / tag,
                out / name / tag,
                jobs=jobs,
                quick=quick,
                fresh=fresh,
                retrain=tuple(retrain),
                records=out / "runs" / tag,
                console=console,
            )
            console.print(f"[bold]{name}[/bold] ({escape(spec.caption)}) on {escape(ds)}")
            start = time.perf_counter()
            report = spec.make(name, setting)
            made = made_note(
                report.payload.get("runs", {}),
                time.perf_counter() - start,
                jobs,
                earlier_calls(setting.out_dir / f"{name}.json"),
            )
            report.payload["made"] = made
            report.notes.append(made["note"])
            path = report.write(setting.out_dir)
            console.print(f"wrote {escape(str(path))}")
    index = write_index(out, list(TABLES))
    console.print(f"wrote {escape(str(index))}")


def _tuned(
    datasets: list[str] | None,
    backbones: list[str] | None,
    trials: int,
    seeds: int,
    jobs: int,
    runs_dir: Path,
    out: Path,
) -> None:
    """``lmam reproduce tuned``: the equal-budget studies, then their table."""
    from lmam.experiments.reproduce import tuned

    if trials < 1:
        raise OptionError(f"--trials {trials}: a tuned study needs at least 1 trial")
    for name in datasets or []:
        if name not in tuned.DATASETS:
            raise OptionError(f"--dataset {name}: tuned runs on {', '.join(tuned.DATASETS)}")
    for name in backbones or []:
        if name not in tuned.BACKBONES:
            raise OptionError(f"--backbone {name}: tuned compares {', '.join(tuned.BACKBONES)}")
    chosen = list(datasets or tuned.DATASETS)
    nets = list(backbones or tuned.BACKBONES)
    console = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)
    root = runs_dir.with_name("tuned") if runs_dir == Path("runs/reproduce") else runs_dir
    tuned.run_all(root, chosen, nets, trials, seeds, jobs, console)
    result = tuned.table(root, list(tuned.DATASETS), list(tuned.BACKBONES))
    command = "lmam reproduce tuned" + "".join(f" --dataset {d}" for d in datasets or [])
    command += "".join(f" --backbone {b}" for b in backbones or [])
    path = tuned.write(result, out, command)
    console.print(f"wrote {escape(str(path))}")


def _design(
    datasets: list[str] | None, trials: int, runs_dir: Path, out: Path, ablations: bool
) -> None:
    """``lmam reproduce design``: LMAM's one-factor ablations and importance study."""
    from lmam.experiments.reproduce import design

    chosen = list(datasets or design.DATASETS)
    for name in chosen:
        if name not in design.DATASETS:
            raise OptionError(f"--dataset {name}: design runs on {', '.join(design.DATASETS)}")
    root = runs_dir.with_name("design") if runs_dir == Path("runs/reproduce") else runs_dir
    command = "lmam reproduce design" + "".join(f" --dataset {d}" for d in datasets or [])
    command += f" --trials {trials}" + ("" if ablations else " --no-ablations")
    if not ablations and not trials:
        raise OptionError("--no-ablations with --trials 0 leaves nothing to run")
    path = design.run(Path("runs/tuned"), root, out, chosen, trials, command, ablations)
    Console(stderr=True, emoji=False, highlight=False).print(f"wrote {escape(str(path))}")
