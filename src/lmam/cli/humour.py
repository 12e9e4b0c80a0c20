"""``lmam humour ...``: C-MFN / C-MFN* on UR-FUNNY's published pickles."""

from __future__ import annotations

from pathlib import Path

import typer

from lmam.cli.errors import command_group

humour_app = command_group("Humour detection: C-MFN and C-MFN* (with LMAM) on UR-FUNNY.")


@humour_app.command("table14")
def table14_command(
    data_dir: Path = typer.Argument(..., help="folder with UR-FUNNY's six pickles"),
    out: Path | None = typer.Option(None, help="write the table here (JSON, and .md beside it)"),
    epochs: int = typer.Option(10, min=1),
    batch_size: int = typer.Option(32, min=1),
    hidden: int = typer.Option(32, min=1),
    seed: int = typer.Option(0),
    threads: int = typer.Option(1, min=1),
    model: list[str] = typer.Option(
        [], help="only these rows (repeatable), e.g. 'C-MFN' or 'C-MFN*'; default all six"
    ),
    modalities: list[str] = typer.Option(
        [], help="only these columns (repeatable): T, A+V, T+A, T+V, T+A+V; default all"
    ),
) -> None:
    """Table XIV: T, A+V, T+A, T+V, T+A+V for C-MFN (P), C-MFN (C), C-MFN and their * versions."""
    from lmam.tasks.humour.table14 import (
        MODALITY_SETS,
        MODELS,
        HumourSettings,
        markdown,
        run_table14,
    )

    settings = HumourSettings(epochs=epochs, batch_size=batch_size, hidden=hidden, memory=hidden,
                              context_dim=hidden, seed=seed, threads=threads)  # fmt: skip
    result = run_table14(
        data_dir, out, settings, model or tuple(MODELS), modalities or tuple(MODALITY_SETS)
    )
    print(markdown(result), end="")


@humour_app.command("synthetic")
def synthetic_command(
    out_dir: Path = typer.Argument(..., help="where to write the six pickles"),
    segments: int = typer.Option(40, min=5),
    seed: int = typer.Option(0),
) -> None:
    """Write a tiny synthetic dataset in UR-FUNNY's published structure (for trying the pipeline)."""
    from lmam.tasks.humour.synthetic import write_synthetic

    print(write_synthetic(out_dir, segments=segments, seed=seed))
