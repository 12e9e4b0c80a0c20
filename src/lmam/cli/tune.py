"""``lmam tune``: tune a configuration on validation data with Optuna (see
:mod:`lmam.experiments.tune`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from lmam.cli.errors import JSON_HELP, MKDIR_HELP, log_console, out_console, show_rows
from lmam.errors import OptionError
from lmam.outputs import check_out_dir, json_safe

STUDY_FLAGS = (
    "trials",
    "jobs",
    "storage",
    "space",
    "name",
    "out_dir",
    "pruner",
    "sampler_seed",
    "final_seeds",
    "show_space",
    "mkdir",
    "quiet",
    "as_json",
    "startup_trials",
    "warmup_epochs",
)


def tune_command(
    ctx: typer.Context,
    dataset: str | None = typer.Option(None, help="registered dataset name or a path to data"),
    data_path: str | None = typer.Option(None, help="files of a registered dataset"),
    data_opt: list[str] = typer.Option([], "--data-opt", help="dataset option KEY=VALUE (repeat)"),
    modalities: str | None = typer.Option(None, help="comma-separated, e.g. text,audio"),
    backbone: str | None = typer.Option(None, help="registered model (lmam models)"),
    fusion: str | None = typer.Option(None, help="registered fusion (lmam fusions) or none"),
    embed: str | None = typer.Option(None, help="the fusion's embedding point"),
    model_opt: list[str] = typer.Option(
        [], "--model-opt", help="model option KEY=VALUE, fixed: not searched (repeat)"
    ),
    fusion_opt: list[str] = typer.Option(
        [], "--fusion-opt", help="fusion option KEY=VALUE, fixed: not searched (repeat)"
    ),
    epochs: int | None = typer.Option(None, help="epochs of every trial (default: the dataset's)"),
    patience: int | None = typer.Option(None, help="early stopping of every trial, in epochs"),
    select: str | None = typer.Option(None, help="valid or last (default: the dataset's)"),
    metric: str | None = typer.Option(
        None, help="validation metric to optimise (default: the dataset's selection metric)"
    ),
    config: Path | None = typer.Option(
        None, help="a config.yaml to tune; flags given on the command line override it"
    ),
    recipe: str | None = typer.Option(None, help="a named recipe to tune (lmam recipes)"),
    space: Path | None = typer.Option(
        None,
        help="YAML overriding the search space: SETTING: {float: [lo, hi], log: true} | "
        "{int: [lo, hi], step: k} | {choice: [...]} | a fixed value | null (not searched)",
    ),
    trials: int = typer.Option(30, min=1, help="the budget: finished trials (pruned ones count)"),
    jobs: int = typer.Option(1, min=1, help="processes working on the study at once"),
    storage: str | None = typer.Option(
        None,
        help="an Optuna storage URL shared by several machines, e.g. "
        "postgresql://user:pw@host/db (default: SQLite in the study folder)",
    ),
    pruner: str = typer.Option("median", help="median (Optuna's MedianPruner) or none"),
    startup_trials: int = typer.Option(5, min=0, help="trials never pruned (the median's base)"),
    warmup_epochs: int = typer.Option(5, min=0, help="epochs before a trial can be pruned"),
    sampler_seed: int = typer.Option(0, min=0, help="seed of the TPE sampler"),
    final_seeds: int = typer.Option(
        0, min=0, help="then retrain the best on seeds 0..N-1 and report test once"
    ),
    out_dir: Path = typer.Option(Path("runs/tune"), help="where the study folder is made"),
    name: str | None = typer.Option(
        None, help="the study folder's name (default: backbone-fusion-dataset)"
    ),
    show_space: bool = typer.Option(False, help="print the search space and stop"),
    mkdir: bool = typer.Option(False, help=MKDIR_HELP),
    quiet: bool = typer.Option(False, help="no progress bar"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Tune a configuration on validation data (Optuna: TPE, median pruning); the test
    split is never read by the study. Running the same command again continues it."""
    from lmam.cli.train import config_from_flags
    from lmam.experiments import tune
    from lmam.train.config import check_run_name

    values = {k: v for k, v in ctx.params.items() if k not in STUDY_FLAGS}
    given = [
        k
        for k in values
        if getattr(ctx.get_parameter_source(k), "name", "") in ("COMMANDLINE", "ENVIRONMENT")
    ]
    cfg = config_from_flags(values, given, config, recipe)
    if (cfg.select or "") == "test":
        raise OptionError("--select test reads the test split; a study tunes on validation only")
    pinned = tuple(k for k in given if k in tune.TRAINING_SPACE)
    overrides = tune.read_space_file(space) if space is not None else None
    searched = tune.search_space(cfg, overrides, pinned, str(space or ""))
    if show_space:
        show_rows(
            f"search space of {cfg.backbone} + {cfg.fusion}", tune.space_rows(searched), as_json
        )
        return
    folder_name = name or "-".join(
        [cfg.backbone, cfg.fusion, Path(cfg.dataset).name.replace(".", "_")]
    )
    check_run_name(folder_name)
    check_out_dir(str(out_dir), "--out-dir", mkdir)
    settings = tune.StudySettings(
        trials=trials,
        jobs=jobs,
        storage=storage,
        sampler_seed=sampler_seed,
        pruner=pruner,
        startup_trials=startup_trials,
        warmup_epochs=warmup_epochs,
    )
    folder = out_dir / folder_name
    study = tune.open_study(folder, cfg, searched, settings)
    if not quiet:
        log_console().print(
            escape(
                f"study {folder}: {len(searched)} settings searched, {trials} trials, "
                f"validation {study.metric} ({study.direction}); storage {study.storage_url}"
            )
        )
    best = tune.run_study(study, console=log_console(), quiet=quiet)
    result: dict[str, Any] = {"best": best}
    if final_seeds:
        result["final"] = tune.final_runs(study, list(range(final_seeds)), quiet=True)
    if as_json:
        print(json.dumps(json_safe(result), indent=1))
        return
    console = out_console()
    console.print(
        escape(
            f"best: trial {best['best_trial']}, validation {best['metric']} "
            f"{best['best_valid']:.4f} ({best['complete']} complete, {best['pruned']} pruned, "
            f"{best['diverged']} diverged of {best['trials']}); config: {folder / 'best.yaml'}"
        )
    )
    for key, value in best["params"].items():
        console.print(escape(f"  {key} = {value}"))
    if final_seeds:
        final = result["final"]
        console.print(
            escape(
                f"test {final['metric']} over seeds {final['seeds']}: "
                f"{final['mean']:.4f} +- {final['std']:.4f} ({final['selection']})"
            )
        )
