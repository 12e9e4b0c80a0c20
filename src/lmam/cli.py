"""The ``lmam`` command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import lmam
from lmam.data.cli import data_app
from lmam.features.cli import features_app
from lmam.train.cli import evaluate_command, predict_command, train_command
from lmam.train.config import TrainConfig

app = typer.Typer(
    name="lmam",
    pretty_exceptions_enable=False,
    help="Multimodal conversational emotion recognition with low-rank matching attention.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print the version."""
    print(lmam.__version__)


@app.command()
def fusions(
    dim: int = typer.Option(100, help="width of every modality for the parameter count"),
    out_dim: int = typer.Option(100, help="output width for the parameter count"),
) -> None:
    """List the registered fusions with their parameter counts for three modalities."""
    table = Table(title=f"fusions (three modalities of width {dim}, out_dim {out_dim})")
    table.add_column("name")
    table.add_column("parameters", justify="right")
    table.add_column("class")
    for name in lmam.list_fusions():
        module = lmam.create_fusion(
            name, in_dims=dict.fromkeys(("text", "audio", "visual"), dim), out_dim=out_dim
        )
        count = sum(p.numel() for p in module.parameters() if p.requires_grad)
        table.add_row(name, f"{count:,}", type(module).__name__)
    Console().print(table)


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("runs/demo"), help="where the runs go"),
    seeds: int = typer.Option(3, help="number of seeds (0, 1, ...)"),
    quiet: bool = typer.Option(True, help="no per-epoch progress bars"),
) -> None:
    """The main job: bc-LSTM with concatenation vs with LMAM on the bundled CMU-MOSI."""
    from lmam.experiments.demo import run_demo

    run_demo(out_dir, list(range(seeds)), quiet=quiet)


app.add_typer(data_app, name="data", help="List, inspect and export datasets.")
app.add_typer(features_app, name="features", help="Extract features (text embeddings).")
experiment_app = typer.Typer(help="Comparisons over seeds (tables + JSON).", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("bclstm")
def experiment_bclstm(
    dataset: str = typer.Option("mosi", help="dataset name or path"),
    data_path: str | None = typer.Option(None),
    seeds: int = typer.Option(5),
    epochs: int | None = typer.Option(None, help="default: the dataset's recommendation, else 50"),
    select: str | None = typer.Option(None, help="valid or last (default: the dataset's)"),
    threads: int | None = typer.Option(None, help="torch threads per run"),
    out_dir: Path = typer.Option(Path("runs/experiments/bclstm")),
    json_out: Path | None = typer.Option(None, "--json", help="also write the table here"),
) -> None:
    """bc-LSTM, bc-LSTM+Att and bc-LSTM with LMAM (early_residual, late), mean +- std over seeds."""
    from lmam.experiments.compare import BCLSTM_VARIANTS, compare

    base = TrainConfig(
        dataset=dataset, data_path=data_path, epochs=epochs, select=select, threads=threads
    )
    compare(
        base,
        BCLSTM_VARIANTS,
        list(range(seeds)),
        out_dir / dataset.replace("/", "_"),
        ["accuracy", "weighted_f1"],
        f"{dataset}, test set, {seeds} seeds",
        True,
        json_out,
    )


@experiment_app.command("fusions")
def experiment_fusions(
    dataset: str = typer.Option("mosi", help="dataset name or path"),
    seeds: int = typer.Option(5),
    embed: str = typer.Option("late"),
    threads: int | None = typer.Option(None, help="torch threads per run"),
    out_dir: Path = typer.Option(Path("runs/experiments/fusions")),
    json_out: Path | None = typer.Option(None, "--json", help="also write the table here"),
) -> None:
    """Every registered fusion in bc-LSTM at one embedding point, mean +- std over seeds."""
    from lmam.experiments.compare import compare, fusion_variants

    base = TrainConfig(dataset=dataset, threads=threads)
    compare(
        base,
        fusion_variants(embed),
        list(range(seeds)),
        out_dir / f"{dataset}-{embed}",
        ["accuracy", "weighted_f1"],
        f"{dataset}, bc-LSTM, {embed} fusion, {seeds} seeds",
        False,
        json_out,
    )


app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("predict")(predict_command)


def main() -> None:
    """Run the CLI; bad input ends with its message, not a traceback (``LMAM_DEBUG=1`` shows it)."""
    import os
    import sys

    try:
        app()
    except (ValueError, FileNotFoundError, KeyError) as err:  # DataError is a ValueError
        if os.environ.get("LMAM_DEBUG"):
            raise
        message = escape(str(err))
        Console(stderr=True, soft_wrap=True, highlight=False).print(f"[red]error:[/red] {message}")
        sys.exit(2)
