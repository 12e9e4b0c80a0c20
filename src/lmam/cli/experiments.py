"""``lmam demo`` and ``lmam experiment ...`` (mounted by ``lmam.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from lmam.cli.errors import command_group, plural
from lmam.train.config import DEFAULT_THREADS, TrainConfig


def demo_command(
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


experiment_app = command_group("Comparisons over seeds (tables + JSON).")


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
    from lmam.experiments.compare import BCLSTM_VARIANTS

    base = TrainConfig(  # random batches: the protocol of the recorded comparisons
        dataset=dataset,
        data_path=data_path,
        epochs=epochs,
        select=select,
        batching="random",
        threads=threads,
    )
    ttests = [("bclstm-lmam-early_residual", "bclstm"), ("bclstm-lmam-late", "bclstm")]
    title = f"{dataset}, test set, {plural(seeds, 'seed')}"
    folder = out_dir / dataset.replace("/", "_")
    _compare(base, BCLSTM_VARIANTS, seeds, folder, title, json_out, True, ttests)


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
    from lmam.experiments.compare import CIMA_VARIANTS
    from lmam.train.recipes import get_recipe

    settings = {**get_recipe("cima").settings, "dataset": dataset, "data_path": data_path}
    if dataset not in ("mosi", "mosi-bclstm"):  # its held-out videos are CMU-MOSI's
        settings["dataset_options"] = {}
    base = TrainConfig.from_dict({**settings, "threads": threads})
    ttests = [("lmam", "concat"), ("mmmu_ba", "concat"), ("lmam", "mmmu_ba")]
    title = f"{dataset}, cima recipe, {plural(seeds, 'seed')}"
    _compare(
        base,
        CIMA_VARIANTS,
        seeds,
        out_dir / dataset.replace("/", "_"),
        title,
        json_out,
        False,
        ttests,
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
    from lmam.experiments.compare import fusion_variants

    base = TrainConfig(dataset=dataset, batching="random", threads=threads)  # as recorded
    title = f"{dataset}, bc-LSTM, {embed} fusion, {plural(seeds, 'seed')}"
    _compare(base, fusion_variants(embed), seeds, out_dir / f"{dataset}-{embed}", title, json_out)


def _compare(
    base: TrainConfig,
    variants: dict[str, Any],
    seeds: int,
    folder: Path,
    title: str,
    json_out: Path | None,
    with_test_selection: bool = False,
    ttests: list[tuple[str, str]] | None = None,
) -> None:
    """Train (or reuse) ``variants`` over seeds 0 .. ``seeds - 1`` and print the
    accuracy and weighted F1 table (:func:`lmam.experiments.compare.compare`)."""
    from lmam.experiments.compare import compare

    compare(
        base,
        variants,
        list(range(seeds)),
        folder,
        ["accuracy", "weighted_f1"],
        title,
        with_test_selection,
        json_out,
        ttests=ttests,
    )
