"""``lmam features ...``: build derived features (mounted by ``lmam.cli``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
import typer
from rich.console import Console

from lmam.cli_errors import ClearErrors
from lmam.data.cli import info_tables
from lmam.data.ours import save_dataset
from lmam.data.registry import create_dataset
from lmam.errors import OptionError
from lmam.features import datasets as _datasets  # noqa: F401  (registers the *-text datasets)
from lmam.features.text import cache_dir

features_app = typer.Typer(
    cls=ClearErrors, rich_markup_mode=None, help="Build derived features, cached in lmam's format."
)
NAMES = ("iemocap-text", "meld-text")


@features_app.callback()
def features() -> None:
    """Build derived features, cached in lmam's format."""


@features_app.command("text")
def text(
    name: str = typer.Argument(..., help=f"what to build: {' or '.join(NAMES)}"),
    path: Path | None = typer.Argument(
        None,
        help="the source: cosmic_iemocap.pkl / cosmic_meld.pkl (or their directory), or a "
        "directory of MELD's CSVs; default: under the data root ($LMAM_DATA)",
    ),
    out: Path | None = typer.Option(None, help="also write the dataset to this .npz file"),
    cache: Path | None = typer.Option(
        None, "--cache-dir", help="default: $LMAM_CACHE or ~/.cache/lmam"
    ),
    batch_size: int = typer.Option(128, help="texts per forward pass"),
    labels: str = typer.Option("emotion", help="MELD only: emotion or sentiment"),
    fine_tune: bool = typer.Option(
        False,
        "--fine-tune",
        help="fine-tune the encoder on the training labels first (epoch chosen on validation)",
    ),
    fine_tune_epochs: int = typer.Option(4, help="fine-tuning epochs"),
    fine_tune_lr: float = typer.Option(2e-5, help="the encoder's fine-tuning learning rate"),
    fine_tune_seed: int = typer.Option(0, help="fine-tuning seed"),
    threads: int | None = typer.Option(None, help="torch threads (default: torch's)"),
) -> None:
    """Sentence embeddings (all-MiniLM-L6-v2, 384-d) of every utterance of a transcript source."""
    console = Console()
    if name not in NAMES:
        raise OptionError(f"unknown feature set {name!r}; choose {' or '.join(NAMES)}")
    if threads is not None:
        if threads < 1:
            raise OptionError(f"--threads must be a positive integer, got {threads}")
        torch.set_num_threads(threads)
    options: dict[str, object] = {"cache_dir": cache, "batch_size": batch_size}
    if fine_tune:
        options.update(
            fine_tune=True,
            fine_tune_epochs=fine_tune_epochs,
            fine_tune_lr=fine_tune_lr,
            fine_tune_seed=fine_tune_seed,
        )
    if name == "meld-text":
        options["labels"] = labels
    start = time.perf_counter()
    ds = create_dataset(name, path, **options)
    seconds = time.perf_counter() - start
    for table in info_tables(ds):
        console.print(table)
    if ds.warning:
        console.print(f"warning: {ds.warning}", markup=False)
    tuning = ds.provenance.get("text.fine_tuning")
    if tuning:
        report = json.loads(tuning)
        console.print(
            f"encoder fine-tuned: epoch {report['epoch']} of {len(report['history'])} kept "
            f"(validation weighted F1 {report['valid_weighted_f1']:.4f}), "
            f"{report['seconds']:.0f} s on {report['threads']} thread(s)"
        )
    console.print(f"ready in {seconds:.1f} s; cached under {cache_dir(cache)}")
    if out is not None:
        console.print(f"written to {save_dataset(ds, out)}")
