"""``lmam train``, ``lmam evaluate`` and ``lmam predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from lmam.train.config import TrainConfig

console = Console()


def _options(values: list[str], what: str) -> dict[str, Any]:
    """``key=value`` pairs, values parsed as YAML scalars (``rank=45``, ``query=full``)."""
    out: dict[str, Any] = {}
    for item in values:
        if "=" not in item:
            raise typer.BadParameter(f"{what} option {item!r} is not key=value")
        key, value = item.split("=", 1)
        out[key] = yaml.safe_load(value)
    return out


def train_command(
    dataset: str = typer.Option("mosi", help="registered dataset name or a path to data"),
    data_path: str | None = typer.Option(
        None, help="files of a registered dataset that needs them"
    ),
    backbone: str = typer.Option("bclstm", help="registered model (lmam models)"),
    fusion: str = typer.Option("concat", help="registered fusion (lmam fusions)"),
    embed: str = typer.Option("early", help="early, early_residual or late"),
    fusion_opt: list[str] = typer.Option(
        [], "--fusion-opt", help="fusion option key=value (repeat)"
    ),
    model_opt: list[str] = typer.Option([], "--model-opt", help="model option key=value (repeat)"),
    data_opt: list[str] = typer.Option([], "--data-opt", help="dataset option key=value (repeat)"),
    modalities: str | None = typer.Option(None, help="comma-separated, e.g. text,audio"),
    epochs: int | None = typer.Option(None, help="default: the dataset's recommendation, else 50"),
    batch_size: int = typer.Option(16),
    lr: float = typer.Option(1e-3),
    weight_decay: float = typer.Option(1e-5),
    dropout: float = typer.Option(0.2),
    seed: int = typer.Option(0),
    loss: str = typer.Option("ce", help="ce, weighted_ce, focal or mse"),
    patience: int | None = typer.Option(None, help="early stopping on validation (select valid)"),
    select: str | None = typer.Option(None, help="valid, last or test (default: the dataset's)"),
    metric: str | None = typer.Option(None, help="selection metric (default weighted_f1 / mae)"),
    threads: int | None = typer.Option(None),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N or auto"),
    out_dir: str = typer.Option("runs"),
    name: str | None = typer.Option(None, help="run directory name"),
    config: Path | None = typer.Option(
        None, help="a config.yaml to start from (flags given override nothing)"
    ),
    resume: Path | None = typer.Option(None, help="continue this interrupted run directory"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Train a model; writes a run directory (config, metrics, checkpoint, predictions)."""
    from lmam.train.engine import Trainer

    if resume is not None:
        cfg = TrainConfig.load(resume / "config.yaml")
        summary = Trainer(cfg, run_dir=resume, quiet=quiet, resume=True).fit()
    else:
        if config is not None:
            cfg = TrainConfig.load(config)
        else:
            cfg = TrainConfig(
                dataset=dataset,
                data_path=data_path,
                dataset_options=_options(data_opt, "dataset"),
                modalities=modalities.split(",") if modalities else None,
                backbone=backbone,
                model_options=_options(model_opt, "model"),
                fusion=fusion,
                fusion_options=_options(fusion_opt, "fusion"),
                embed=embed,
                epochs=epochs,
                batch_size=batch_size,
                lr=lr,
                weight_decay=weight_decay,
                dropout=dropout,
                seed=seed,
                loss=loss,
                patience=patience,
                select=select,
                metric=metric,
                threads=threads,
                device=device,
                out_dir=out_dir,
                name=name,
            )
        summary = Trainer(cfg, quiet=quiet).fit()
    if summary:
        print_summary(summary)


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
    if summary.get("warning"):
        console.print(f"[yellow]warning:[/yellow] {summary['warning']}")


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
    data: str = typer.Option(..., "--data", help="data in any readable format (e.g. our format)"),
    out: Path = typer.Option(Path("predictions.csv"), help="where to write the predictions"),
) -> None:
    """Predict every utterance of new data with a run's model."""
    from lmam.train.inference import predict_run

    rows = predict_run(run, data, out)
    console.print(f"wrote {rows} predictions to {out}")
