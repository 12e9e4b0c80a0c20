"""``lmam train``, ``lmam evaluate`` and ``lmam predict``."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from lmam.cli.errors import JSON_HELP, MKDIR_HELP, log_console, out_console, plural
from lmam.errors import OptionError, RunError
from lmam.options import parse_pairs
from lmam.outputs import check_out_dir, check_output, json_safe
from lmam.train.config import DEFAULT_THREADS, TrainConfig
from lmam.train.recipes import get_recipe

OPTION_FLAGS = {
    "fusion_opt": "fusion_options",
    "model_opt": "model_options",
    "data_opt": "dataset_options",
    "modality_dropout": "modality_dropout",
}
D = TrainConfig
"""The defaults the flags' help shows (TrainConfig's own)."""
CONFIG_FIELDS = frozenset(f.name for f in fields(TrainConfig))
"""The flags that are settings of the run (the others steer the command)."""
RESUME_MAY_CHANGE = ("threads", "device", "compile", "epochs", "quiet", "as_json")
"""What ``--resume`` accepts besides the run: execution settings, and ``--epochs``
to extend a run that ended by reaching its epoch count."""


def train_command(
    ctx: typer.Context,
    dataset: str | None = typer.Option(
        None, help=f"registered dataset name or a path to data (default {D.dataset})"
    ),
    data_path: str | None = typer.Option(
        None, help="files of a registered dataset that needs them"
    ),
    backbone: str | None = typer.Option(
        None, help=f"registered model, lmam models (default {D.backbone})"
    ),
    fusion: str | None = typer.Option(
        None, help=f"registered fusion, lmam fusions (default {D.fusion})"
    ),
    embed: str | None = typer.Option(
        None, help=f"early, early_residual, late, parallel or late_text (default {D.embed})"
    ),
    fusion_dim: int | None = typer.Option(
        None, help="the fusion's output width (default: the model's choice)"
    ),
    fusion_opt: list[str] = typer.Option(
        [], "--fusion-opt", help="fusion option KEY=VALUE (repeat)"
    ),
    model_opt: list[str] = typer.Option([], "--model-opt", help="model option KEY=VALUE (repeat)"),
    data_opt: list[str] = typer.Option([], "--data-opt", help="dataset option KEY=VALUE (repeat)"),
    modalities: str | None = typer.Option(None, help="comma-separated, e.g. text,audio"),
    normalize: str | None = typer.Option(
        None,
        help=f"standard (per-modality, training-split statistics) or none (default {D.normalize})",
    ),
    epochs: int | None = typer.Option(None, help="default: the dataset's recommendation, else 50"),
    batch_size: int | None = typer.Option(
        None, help=f"dialogues per batch (default {D.batch_size})"
    ),
    batching: str | None = typer.Option(
        None,
        help="random, or bucketed: dialogues of similar length together, less padding "
        f"(default {D.batching})",
    ),
    lr: float | None = typer.Option(None, help=f"Adam's learning rate (default {D.lr})"),
    weight_decay: float | None = typer.Option(
        None, help=f"Adam's weight decay (default {D.weight_decay})"
    ),
    dropout: float | None = typer.Option(
        None, help="the model's dropout (default: the backbone's own, its reference's)"
    ),
    modality_dropout: list[str] = typer.Option(
        [],
        "--modality-dropout",
        help="MODALITY=P: dropout on that modality's input features while training (repeat)",
    ),
    seed: int | None = typer.Option(
        None, help=f"seed of everything random, a non-negative integer (default {D.seed})"
    ),
    grad_clip: float | None = typer.Option(
        None, help="clip the gradient norm to this value before each step (default: no clipping)"
    ),
    loss: str | None = typer.Option(
        None, help="ce, weighted_ce, focal or mse (default: ce, or mse for regression)"
    ),
    patience: int | None = typer.Option(None, help="early stopping on validation (select valid)"),
    select: str | None = typer.Option(None, help="valid, last or test (default: the dataset's)"),
    metric: str | None = typer.Option(None, help="selection metric (default weighted_f1 / mae)"),
    threads: int | None = typer.Option(
        None, help=f"torch CPU threads (default {DEFAULT_THREADS}, right for lmam's small models)"
    ),
    device: str | None = typer.Option(
        None, help=f"cpu, cuda, cuda:N, mps or auto (default {D.device})"
    ),
    precision: str | None = typer.Option(
        None,
        help="32, bf16 or fp16: autocast the forward pass and loss (fp16 with a gradient "
        f"scaler, GPU only) (default {D.precision})",
    ),
    compile: bool | None = typer.Option(
        None,
        "--compile/--no-compile",
        help="compile the model with torch.compile (default: no)",
    ),
    out_dir: str | None = typer.Option(
        None, help=f"where the run directory is made (default {D.out_dir})"
    ),
    name: str | None = typer.Option(
        None, help="run directory name inside --out-dir (default: derived from the settings)"
    ),
    overwrite: bool = typer.Option(
        False, help="replace an earlier run of the same name (default: refuse)"
    ),
    mkdir: bool = typer.Option(False, help=MKDIR_HELP),
    tensorboard: bool | None = typer.Option(
        None,
        "--tensorboard/--no-tensorboard",
        help="also write TensorBoard logs to tensorboard/ in the run directory (default: no)",
    ),
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
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
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
        changed = ("threads", "device", "compile", "epochs")
        cfg = replace(cfg, **{k: values[k] for k in given if k in changed})
        trainer = Trainer(cfg, run_dir=resume, quiet=quiet, resume=True)
        if trainer.start_epoch > trainer.epochs:
            log_console().print(
                escape(
                    f"{resume} has completed all {plural(trainer.epochs, 'epoch')}: nothing to "
                    "train (give --epochs N to extend it)"
                )
            )
    else:
        cfg = config_from_flags(values, given, config, recipe)
        check_out_dir(cfg.out_dir, "--out-dir", mkdir)
        trainer = Trainer(cfg, quiet=quiet, overwrite=overwrite)
    if trainer.ds.warning and trainer.dist.is_main and not quiet:
        log_console().print(
            escape(
                f"note: dataset {trainer.ds.name} comes with a note on its protocol "
                f"(lmam data info {trainer.config.dataset})"
            )
        )
    try:
        summary = trainer.fit()
    except KeyboardInterrupt:
        interrupted(trainer.run_dir, len(trainer.history))
        raise typer.Exit(130) from None
    if summary:
        if as_json:
            print(json.dumps(json_safe(summary), indent=1))
        else:
            print_summary(summary)


def config_from_flags(
    values: dict[str, Any], given: list[str], config: Path | None, recipe: str | None
) -> TrainConfig:
    """The TrainConfig of a command's flags: ``values`` (flag -> value, ``None`` when not
    given), over ``--config`` or ``--recipe`` where one is given (``given``: the flags set
    on the command line, which override the file's settings)."""
    fields: dict[str, Any] = {}
    for k, v in values.items():
        if k in OPTION_FLAGS:
            fields[OPTION_FLAGS[k]] = parse_pairs(v, "--" + k.replace("_", "-"))
        elif k == "modalities":
            fields[k] = [m.strip() for m in v.split(",")] if v is not None else None
        elif k in CONFIG_FIELDS:
            fields[k] = v
    # a flag not given leaves the field to TrainConfig, the one place its default lives
    fields = {k: v for k, v in fields.items() if v is not None}
    if config is not None and recipe is not None:
        raise OptionError("give --config or --recipe, not both")
    if config is None and recipe is None:
        return TrainConfig(**fields)
    if config is not None:
        cfg = TrainConfig.load(config)
    else:
        cfg = TrainConfig.from_dict(get_recipe(str(recipe)).settings)
    over: dict[str, Any] = {}
    if "dataset" in given and fields.get("dataset") != cfg.dataset:
        over["dataset_options"] = {}  # the file's dataset options are its dataset's
    for k in given:
        key = OPTION_FLAGS.get(k, k)
        if key in fields:
            old = over.get(key, getattr(cfg, key))
            over[key] = {**old, **fields[key]} if isinstance(old, dict) else fields[key]
    return replace(cfg, **over)


def interrupted(run_dir: Path, epochs_done: int) -> None:
    """Say what an interrupted run left behind and how to continue it."""
    if epochs_done:
        log_console().print(
            f"interrupted: {plural(epochs_done, 'epoch')} completed and saved in {run_dir}; "
            f"continue with: lmam train --resume {run_dir}",
            markup=False,
        )
        return
    if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= {"config.yaml"}:
        shutil.rmtree(run_dir)
    log_console().print("interrupted before the first epoch completed; nothing was kept")


def print_summary(summary: dict[str, Any]) -> None:
    if not (summary.get("valid") or summary.get("test")):
        out_console().print(
            escape(f"{summary['run_dir']}: trained; the data has no valid or test split to score")
        )
        return
    table = Table(title=escape(f"{summary['run_dir']}  (selection: {summary['selection']})"))
    table.add_column("split")
    shown = summary.get("test") or summary.get("valid") or {}
    keys = [
        k
        for k in ("accuracy", "weighted_f1", "macro_f1", "mae", "pearson_r", "acc2", "f1", "acc7")
        if k in shown
    ]
    for k in keys:
        table.add_column(k, justify="right")
    for split in ("valid", "test"):
        if summary.get(split):
            table.add_row(split, *[f"{summary[split][k]:.4f}" for k in keys])
    console = out_console()
    console.print(table)
    console.print(
        f"epoch {summary['best_epoch']} of {summary['epochs_run']}, "
        f"{plural(summary['parameters'], 'parameter')}, "
        f"{summary['seconds_per_epoch']:.3f} s per training epoch"
    )


DEVICE_HELP = "where the model runs: cpu, cuda, cuda:N, mps or auto"
PRECISION_HELP = "32, bf16 or fp16 (autocast; fp16 needs a GPU)"
COMPILE_HELP = "run the model compiled by torch.compile (slow first batches)"


def evaluate_command(
    run: Path = typer.Argument(..., help="a run directory"),
    data: str | None = typer.Option(
        None,
        "--data",
        help="score the model on this labelled data instead (a conversation file, or data "
        "with features in any readable format): full metrics and confusion matrix",
    ),
    device: str = typer.Option("cpu", help=DEVICE_HELP),
    precision: str = typer.Option("32", help=PRECISION_HELP),
    compile: bool = typer.Option(False, "--compile", help=COMPILE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Recompute a run's test metrics from its checkpoint and compare with the record,
    or score the run's model on new labelled data (--data)."""
    from lmam.data.conversation_files import is_conversation_file
    from lmam.train.inference import evaluate_run

    if data is not None and is_conversation_file(data):
        from lmam.train.predictor import evaluate_conversations

        result: dict[str, Any] = {
            "data": data,
            "metrics": evaluate_conversations(run, data, device, precision, compile),
        }
    else:
        result = evaluate_run(run, data, device, precision, compile)
    if as_json:
        print(json.dumps(json_safe(result), indent=1))
    elif data is not None:
        print_scores(result["metrics"], f"{run} on {data}")
    else:
        table = Table(title=escape(f"{run}: test metrics"))
        table.add_column("metric")
        table.add_column("recorded", justify="right")
        table.add_column("recomputed", justify="right")
        for k, v in result["recomputed"].items():
            if isinstance(v, float):
                table.add_row(k, f"{result['recorded'][k]:.6f}", f"{v:.6f}")
        console = out_console()
        console.print(table)
        console.print(
            "identical" if result["identical"] else "[red]DIFFERENT from the record[/red]"
        )
    if data is None and not result["identical"]:
        raise typer.Exit(1)


def print_scores(metrics: dict[str, Any], title: str) -> None:
    """The metrics of labelled data as tables: the scalars, per class, the confusion matrix."""
    console = out_console()
    table = Table(title=escape(f"{title}: {plural(int(metrics.get('n', 0)), 'utterance')}"))
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        if isinstance(v, float):
            table.add_row(k, f"{v:.4f}")
    console.print(table)
    per_class = metrics.get("per_class")
    if per_class:
        names = list(per_class)
        classes = Table(title="per class")
        for column in ("class", "accuracy", "f1", "support"):
            classes.add_column(column, justify="left" if column == "class" else "right")
        for n in names:
            c = per_class[n]
            classes.add_row(escape(n), f"{c['accuracy']:.4f}", f"{c['f1']:.4f}", str(c["support"]))
        console.print(classes)
        cm = Table(title="confusion matrix (rows: label, columns: prediction)")
        cm.add_column("")
        for n in names:
            cm.add_column(escape(n), justify="right")
        for n, row in zip(names, metrics["confusion_matrix"]):
            cm.add_row(escape(n), *map(str, row))
        console.print(cm)


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
    device: str = typer.Option("cpu", help=DEVICE_HELP),
    precision: str = typer.Option("32", help=PRECISION_HELP),
    compile: bool = typer.Option(False, "--compile", help=COMPILE_HELP),
    mkdir: bool = typer.Option(False, help=MKDIR_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="print what was written (and the scores) as JSON on standard output"
    ),
) -> None:
    """Predict every utterance of new data with a run's model.

    A conversation file (transcripts, audio files) gets the run's features built
    the same way (text encoder, openSMILE set, standardisation); data with
    features already (--data) must match the model's modalities and widths.
    Where the data has labels, the scores are printed too.
    """
    from lmam.train.inference import predict_run

    if (conversations is None) == (data is None):
        raise OptionError("give a conversation file (CONVERSATIONS) or --data, one of the two")
    check_output(out, "--out", [run, conversations, data], mkdir)
    if conversations is not None:
        from lmam.train.predictor import Predictor, prediction_scores, write_predictions

        if out.suffix.lower() not in (".csv", ".json"):
            raise OptionError(f"--out {out}: write predictions to a .csv or .json file")
        predictor = Predictor.from_run(run, device, precision, compile)
        predictions = predictor.predict(
            Path(conversations), processes=processes, audio_cache=audio_cache, progress=not quiet
        )
        write_predictions(predictions, out)
        rows, metrics = len(predictions), prediction_scores(predictions, predictor.label_names)
    else:
        rows, metrics = predict_run(run, str(data), out, device, precision, compile)
    if as_json:
        print(json.dumps(json_safe({"out": str(out), "rows": rows, "metrics": metrics}), indent=1))
        return
    log_console().print(escape(f"wrote {plural(rows, 'prediction')} to {out}"))
    if metrics is not None:
        print_scores(metrics, f"{run} on {conversations or data}")
