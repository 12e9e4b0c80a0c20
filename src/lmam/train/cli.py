"""``lmam train``, ``lmam evaluate`` and ``lmam predict``."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lmam.errors import OptionError, RunError
from lmam.options import parse_pairs
from lmam.train.config import DEFAULT_THREADS, TrainConfig
from lmam.train.recipes import get_recipe

console = Console()


OPTION_FLAGS = {
    "fusion_opt": "fusion_options",
    "model_opt": "model_options",
    "data_opt": "dataset_options",
    "modality_dropout": "modality_dropout",
}
RESUME_MAY_CHANGE = ("threads", "device", "epochs", "quiet")
"""What ``--resume`` accepts besides the run: execution settings, and ``--epochs``
to extend a run that ended by reaching its epoch count."""


def train_command(
    ctx: typer.Context,
    dataset: str = typer.Option("mosi", help="registered dataset name or a path to data"),
    data_path: str | None = typer.Option(
        None, help="files of a registered dataset that needs them"
    ),
    backbone: str = typer.Option("bclstm", help="registered model (lmam models)"),
    fusion: str = typer.Option("concat", help="registered fusion (lmam fusions)"),
    embed: str = typer.Option("early", help="early, early_residual, late, parallel or late_text"),
    fusion_dim: int | None = typer.Option(
        None, help="the fusion's output width (default: the model's choice)"
    ),
    fusion_opt: list[str] = typer.Option(
        [], "--fusion-opt", help="fusion option KEY=VALUE (repeat)"
    ),
    model_opt: list[str] = typer.Option([], "--model-opt", help="model option KEY=VALUE (repeat)"),
    data_opt: list[str] = typer.Option([], "--data-opt", help="dataset option KEY=VALUE (repeat)"),
    modalities: str | None = typer.Option(None, help="comma-separated, e.g. text,audio"),
    normalize: str = typer.Option(
        "standard", help="standard (per-modality, training-split statistics) or none"
    ),
    epochs: int | None = typer.Option(None, help="default: the dataset's recommendation, else 50"),
    batch_size: int = typer.Option(16),
    lr: float = typer.Option(1e-3),
    weight_decay: float = typer.Option(1e-5),
    dropout: float = typer.Option(0.2),
    modality_dropout: list[str] = typer.Option(
        [],
        "--modality-dropout",
        help="MODALITY=P: dropout on that modality's input features while training (repeat)",
    ),
    seed: int = typer.Option(0),
    loss: str | None = typer.Option(
        None, help="ce, weighted_ce, focal or mse (default: ce, or mse for regression)"
    ),
    patience: int | None = typer.Option(None, help="early stopping on validation (select valid)"),
    select: str | None = typer.Option(None, help="valid, last or test (default: the dataset's)"),
    metric: str | None = typer.Option(None, help="selection metric (default weighted_f1 / mae)"),
    threads: int | None = typer.Option(
        None, help=f"torch CPU threads (default {DEFAULT_THREADS}, right for lmam's small models)"
    ),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N, mps or auto"),
    out_dir: str = typer.Option("runs"),
    name: str | None = typer.Option(None, help="run directory name"),
    config: Path | None = typer.Option(
        None, help="a config.yaml to start from; flags given on the command line override it"
    ),
    recipe: str | None = typer.Option(
        None, help="a named recipe to start from (lmam recipes); flags override it"
    ),
    resume: Path | None = typer.Option(
        None,
        help="continue this run directory from its last completed epoch "
        "(with --epochs N: extend it to N epochs)",
    ),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Train a model; writes a run directory (config, metrics, checkpoint, predictions)."""
    from lmam.train.engine import Trainer

    values = dict(ctx.params)
    given = [
        k
        for k in values
        if getattr(ctx.get_parameter_source(k), "name", "") in ("COMMANDLINE", "ENVIRONMENT")
    ]
    if resume is not None:
        changing = [k for k in given if k not in (*RESUME_MAY_CHANGE, "resume")]
        if changing:
            flag = "--" + changing[0].replace("_", "-")
            raise OptionError(
                f"--resume continues {resume} as it was configured; {flag} would change it "
                f"(--resume takes only {', '.join('--' + k for k in RESUME_MAY_CHANGE)}; "
                f"for a new run from its settings use --config {resume / 'config.yaml'})"
            )
        if not (resume / "config.yaml").is_file():
            raise RunError(f"{resume}: not a run directory (no config.yaml)")
        cfg = TrainConfig.load(resume / "config.yaml")
        cfg = replace(cfg, **{k: values[k] for k in given if k in ("threads", "device", "epochs")})
        trainer = Trainer(cfg, run_dir=resume, quiet=quiet, resume=True)
        if trainer.start_epoch > trainer.epochs:
            console.print(
                f"{resume} has completed all {trainer.epochs} epochs: nothing to train "
                "(give --epochs N to extend it)"
            )
    else:
        fields: dict[str, Any] = {}
        for k, v in values.items():
            if k in OPTION_FLAGS:
                fields[OPTION_FLAGS[k]] = parse_pairs(v, "--" + k.replace("_", "-"))
            elif k == "modalities":
                fields[k] = [m.strip() for m in v.split(",")] if v else None
            elif k not in ("config", "recipe", "resume", "quiet"):
                fields[k] = v
        if config is not None and recipe is not None:
            raise OptionError("give --config or --recipe, not both")
        if config is None and recipe is None:
            cfg = TrainConfig(**fields)
        else:
            if config is not None:
                cfg = TrainConfig.load(config)
            else:
                cfg = TrainConfig.from_dict(get_recipe(str(recipe)).settings)
            over: dict[str, Any] = {}
            for k in given:
                key = OPTION_FLAGS.get(k, k)
                if key in fields:
                    old = getattr(cfg, key)
                    over[key] = {**old, **fields[key]} if isinstance(old, dict) else fields[key]
            cfg = replace(cfg, **over)
        trainer = Trainer(cfg, quiet=quiet)
    if trainer.ds.warning and trainer.dist.is_main:
        console.print(f"[yellow]about this dataset:[/yellow] {escape(trainer.ds.warning)}")
    try:
        summary = trainer.fit()
    except KeyboardInterrupt:
        interrupted(trainer.run_dir, len(trainer.history))
        raise typer.Exit(130) from None
    if summary:
        print_summary(summary)


def interrupted(run_dir: Path, epochs_done: int) -> None:
    """Say what an interrupted run left behind and how to continue it."""
    if epochs_done:
        Console(stderr=True).print(
            f"interrupted: {epochs_done} epoch(s) completed and saved in {run_dir}; "
            f"continue with: lmam train --resume {run_dir}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
        return
    if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= {"config.yaml"}:
        shutil.rmtree(run_dir)
    Console(stderr=True).print(
        "interrupted before the first epoch completed; nothing was kept", highlight=False
    )


def print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"{summary['run_dir']}  (selection: {summary['selection']})")
    table.add_column("split")
    keys = [
        k
        for k in ("accuracy", "weighted_f1", "macro_f1", "mae", "pearson_r", "acc2", "f1", "acc7")
        if k in summary["test"]
    ]
    for k in keys:
        table.add_column(k, justify="right")
    for split in ("valid", "test"):
        if summary.get(split):
            table.add_row(split, *[f"{summary[split][k]:.4f}" for k in keys])
    console.print(table)
    console.print(
        f"epoch {summary['best_epoch']} of {summary['epochs_run']}, {summary['parameters']:,} parameters, "
        f"{summary['seconds_per_epoch']:.3f} s per training epoch"
    )


def evaluate_command(run: Path = typer.Argument(..., help="a run directory")) -> None:
    """Recompute a run's test metrics from its checkpoint and compare with the record."""
    from lmam.train.inference import evaluate_run

    result = evaluate_run(run)
    table = Table(title=f"{run}: test metrics")
    table.add_column("metric")
    table.add_column("recorded", justify="right")
    table.add_column("recomputed", justify="right")
    for k, v in result["recomputed"].items():
        if isinstance(v, float):
            table.add_row(k, f"{result['recorded'][k]:.6f}", f"{v:.6f}")
    console.print(table)
    console.print("identical" if result["identical"] else "[red]DIFFERENT from the record[/red]")
    if not result["identical"]:
        raise typer.Exit(1)


def predict_command(
    run: Path = typer.Argument(..., help="a run directory"),
    conversations: str | None = typer.Argument(
        None,
        help="a conversation file (.csv / .jsonl): features are built as the run's were",
    ),
    data: str | None = typer.Option(
        None, "--data", help="or data with features already, in any readable format"
    ),
    out: Path = typer.Option(
        Path("predictions.csv"),
        help="where to write the predictions (.csv, or .json for raw input)",
    ),
    processes: int = typer.Option(1, help="raw input: openSMILE worker processes"),
    audio_cache: Path | None = typer.Option(
        None,
        "--audio-cache-dir",
        help="raw input: default $LMAM_AUDIO_CACHE or ~/.cache/lmam/audio",
    ),
    quiet: bool = typer.Option(False, help="raw input: no progress bar"),
) -> None:
    """Predict every utterance of new data with a run's model.

    A conversation file (transcripts, audio files) gets the run's features built
    the same way (text encoder, openSMILE set, standardisation); data with
    features already (--data) must match the model's modalities and widths.
    """
    from lmam.train.inference import predict_run

    if out.is_dir():
        raise OptionError(f"--out {out} is a directory; give the path of the CSV file to write")
    if (conversations is None) == (data is None):
        raise OptionError("give a conversation file (CONVERSATIONS) or --data, one of the two")
    if conversations is not None:
        from lmam.train.predictor import Predictor, write_predictions

        if out.suffix.lower() not in (".csv", ".json"):
            raise OptionError(f"--out {out}: write predictions to a .csv or .json file")
        predictor = Predictor.from_run(run)
        predictions = predictor.predict(
            Path(conversations), processes=processes, audio_cache=audio_cache, progress=not quiet
        )
        write_predictions(predictions, out)
        console.print(f"wrote {len(predictions)} predictions to {out}", soft_wrap=True)
        return
    rows = predict_run(run, str(data), out)
    console.print(f"wrote {rows} predictions to {out}")
