"""The ``lmam`` command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import lmam
from lmam.cli_errors import ClearErrors
from lmam.data.cli import data_app
from lmam.experiments.reproduce.cli import reproduce_command
from lmam.experiments.runs_cli import runs_command
from lmam.features.cli import features_app
from lmam.tasks.humour.cli import humour_app
from lmam.tasks.session.cli import session_app
from lmam.train.cli import evaluate_command, predict_command, train_command
from lmam.train.config import DEFAULT_THREADS, TrainConfig

app = typer.Typer(
    name="lmam",
    cls=ClearErrors,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Multimodal conversational emotion recognition with low-rank matching attention.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        print(f"lmam {lmam.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version"
    ),
) -> None:
    """Multimodal conversational emotion recognition with low-rank matching attention.

    Exit codes: 0 success, 1 bad data or a run that cannot be used as asked,
    2 a bad command line, option or config value, 130 interrupted.
    """


@app.command()
def version() -> None:
    """Print the version."""
    print(lmam.__version__)


@app.command()
def models(
    dim: int = typer.Option(100, help="width of every modality for the parameter count"),
    classes: int = typer.Option(6, help="number of classes for the parameter count"),
) -> None:
    """List the registered backbones with their parameter counts (concat and LMAM)."""
    from lmam.models import create_model
    from lmam.models.registry import MODELS

    dims = dict.fromkeys(("text", "audio", "visual"), dim)
    table = Table(title=f"models (three modalities of width {dim}, {classes} classes)")
    table.add_column("name")
    table.add_column("concat, early", justify="right")
    table.add_column("lmam, early_residual", justify="right")
    table.add_column("description")
    for name in lmam.list_models():
        counts = []
        for fusion, embed in (("concat", "early"), ("lmam", "early_residual")):
            model = create_model(
                name, in_dims=dims, num_classes=classes, fusion=fusion, embed=embed
            )
            counts.append(f"{sum(p.numel() for p in model.parameters() if p.requires_grad):,}")
        table.add_row(name, *counts, escape(MODELS.describe(name)))
    Console().print(table)


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
def recipes() -> None:
    """List the named training recipes and where each comes from."""
    from lmam.train.recipes import RECIPES

    table = Table(title="recipes (lmam train --recipe NAME; flags override them)")
    table.add_column("name")
    table.add_column("what")
    table.add_column("source")
    for r in RECIPES.values():
        table.add_row(r.name, escape(r.summary), escape(r.source))
    Console().print(table)


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("runs/demo"), help="where the runs go"),
    seeds: int = typer.Option(3, min=1, help="number of seeds (0, 1, ...)"),
    epochs: int | None = typer.Option(
        None, min=1, help="epochs per run (default: the dataset's fixed protocol)"
    ),
    threads: int | None = typer.Option(
        None, min=1, help=f"torch threads per run (default {DEFAULT_THREADS})"
    ),
    fresh: bool = typer.Option(
        False, help="retrain every run (default: reuse finished runs with the same settings)"
    ),
    quiet: bool = typer.Option(True, help="no per-epoch progress bars"),
) -> None:
    """The main job: bc-LSTM with concatenation vs with LMAM on the bundled CMU-MOSI."""
    from lmam.experiments.demo import run_demo

    run_demo(out_dir, list(range(seeds)), quiet=quiet, epochs=epochs, threads=threads, fresh=fresh)


app.add_typer(data_app, name="data", help="List, inspect and export datasets.")
app.add_typer(features_app, name="features", help="Extract features (text embeddings).")
experiment_app = typer.Typer(
    cls=ClearErrors,
    rich_markup_mode=None,
    help="Comparisons over seeds (tables + JSON).",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")
app.add_typer(session_app, name="session")
app.add_typer(humour_app, name="humour")


@experiment_app.command("bclstm")
def experiment_bclstm(
    dataset: str = typer.Option("mosi", help="dataset name or path"),
    data_path: str | None = typer.Option(None),
    seeds: int = typer.Option(5),
    epochs: int | None = typer.Option(None, help="default: the dataset's recommendation, else 50"),
    select: str | None = typer.Option(None, help="valid or last (default: the dataset's)"),
    threads: int | None = typer.Option(None, min=1, help="torch threads per run"),
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
        ttests=[("bclstm-lmam-early_residual", "bclstm"), ("bclstm-lmam-late", "bclstm")],
    )


@experiment_app.command("cima")
def experiment_cima(
    dataset: str = typer.Option("mosi", help="dataset name or path"),
    data_path: str | None = typer.Option(None),
    seeds: int = typer.Option(5, min=2),
    threads: int | None = typer.Option(None, min=1, help="torch threads per run"),
    out_dir: Path = typer.Option(Path("runs/experiments/cima")),
    json_out: Path | None = typer.Option(None, "--json", help="also write the table here"),
) -> None:
    """The cima recipe with MMMU-BA, concatenation, LMAM and text only; paired t-tests."""
    from lmam.experiments.compare import CIMA_VARIANTS, compare
    from lmam.train.recipes import get_recipe

    settings = {**get_recipe("cima").settings, "dataset": dataset, "data_path": data_path}
    base = TrainConfig.from_dict({**settings, "threads": threads})
    compare(
        base,
        CIMA_VARIANTS,
        list(range(seeds)),
        out_dir / dataset.replace("/", "_"),
        ["accuracy", "weighted_f1"],
        f"{dataset}, cima recipe, {seeds} seeds",
        False,
        json_out,
        ttests=[("lmam", "concat"), ("mmmu_ba", "concat"), ("lmam", "mmmu_ba")],
    )


@experiment_app.command("fusions")
def experiment_fusions(
    dataset: str = typer.Option("mosi", help="dataset name or path"),
    seeds: int = typer.Option(5),
    embed: str = typer.Option("late"),
    threads: int | None = typer.Option(None, min=1, help="torch threads per run"),
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
app.command("runs")(runs_command)
app.command("reproduce")(reproduce_command)


def main() -> None:
    """Run the CLI (errors end as :mod:`lmam.cli_errors` describes)."""
    app(prog_name="lmam")
