"""``lmam session ...``: DHCN / DHCN* on Diginetica-style data."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from lmam.cli.errors import command_group

session_app = command_group("Session recommendation: DHCN and DHCN* (with LMAM) on Diginetica.")

DEFAULT_DATA = "../shared/data/diginetica"


@session_app.command("train")
def train_command(
    data_dir: str = typer.Option(DEFAULT_DATA, help="folder with all_train_seq.txt and test.txt"),
    lmam: bool = typer.Option(False, "--lmam", help="DHCN* (LMAM in the readout)"),
    epochs: int = typer.Option(10, help="epochs (with --resume: the new total)"),
    seed: int = typer.Option(0),
    max_cases: int | None = typer.Option(
        None, help="train on a seeded subsample of this many cases (a subsample run)"
    ),
    batch_size: int = typer.Option(100),
    dim: int = typer.Option(100),
    layers: int = typer.Option(3),
    beta: float = typer.Option(0.01, help="weight of the self-supervised loss"),
    threads: int | None = typer.Option(
        None,
        help="torch threads (default 1; with --resume the run's, unless given: they change the "
        "speed, not the model)",
    ),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N, mps or auto"),
    out_dir: Path = typer.Option(Path("runs/session")),
    name: str | None = typer.Option(None, help="run directory name under --out-dir"),
    checkpoint_batches: int = typer.Option(
        500, min=1, help="save a mid-epoch checkpoint every this many batches"
    ),
    resume: Path | None = typer.Option(
        None,
        help="continue this run directory from its last checkpoint, a completed epoch or "
        "a mid-epoch one (on --device, with --threads if given; its other settings are the "
        "run's)",
    ),
) -> None:
    """Train DHCN (or DHCN* with --lmam); selects the epoch by validation P@20."""
    from lmam.tasks.session.train import SessionConfig, SessionTrainer

    if resume is not None:
        config = SessionConfig.load(resume / "config.yaml")
        config.epochs = epochs
        config.device = device
        if threads is not None:
            config.threads = threads
        trainer = SessionTrainer(config, run_dir=resume, resume=True)
    else:
        config = SessionConfig(
            data_dir=data_dir,
            out_dir=str(out_dir),
            name=name,
            lmam=lmam,
            seed=seed,
            epochs=epochs,
            batch_size=batch_size,
            dim=dim,
            layers=layers,
            beta=beta,
            max_cases=max_cases,
            threads=threads if threads is not None else 1,
            device=device,
            checkpoint_batches=checkpoint_batches,
        )
        trainer = SessionTrainer(config)
    print(json.dumps(trainer.fit(), indent=2))


@session_app.command("evaluate")
def evaluate_command(
    run_dir: Path = typer.Argument(..., help="a run directory of lmam session train"),
    data_dir: str | None = typer.Option(None, help="default: the run's data folder"),
    device: str | None = typer.Option(None, help="default: the run's device"),
) -> None:
    """Test P@5/10/20 and MRR@5/10/20 of a run's selected weights."""
    from lmam.tasks.session.train import evaluate_run

    print(json.dumps(evaluate_run(run_dir, data_dir, device), indent=2))


@session_app.command("time")
def time_command(
    data_dir: str = typer.Option(DEFAULT_DATA),
    lmam: bool = typer.Option(False, "--lmam"),
    batches: int = typer.Option(20, min=1, help="batches to time (after one warm-up)"),
    threads: int = typer.Option(1),
    batch_size: int = typer.Option(100),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N, mps or auto"),
) -> None:
    """Seconds per training epoch, extrapolated from a fixed number of batches."""
    from lmam.tasks.session.train import SessionConfig, time_batches

    config = SessionConfig(
        data_dir=data_dir, lmam=lmam, threads=threads, batch_size=batch_size, device=device
    )
    print(json.dumps(time_batches(config, batches), indent=2))


@session_app.command("table13")
def table13_command(
    data_dir: str = typer.Option(DEFAULT_DATA, help="folder with all_train_seq.txt and test.txt"),
    seeds: int = typer.Option(3, min=2, help="seeds 0..N-1, each training both models"),
    epochs: int = typer.Option(10, min=1),
    max_cases: int | None = typer.Option(
        None, min=1, help="train on a seeded subsample of this many cases (labelled so)"
    ),
    jobs: int = typer.Option(2, min=1, help="runs trained at once, one thread each"),
    dim: int = typer.Option(100, min=1),
    batch_size: int = typer.Option(100, min=1),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N, mps or auto"),
    runs_dir: Path = typer.Option(Path("runs/session/table13")),
    out: Path = typer.Option(
        Path("results"), help="writes OUT/table13/TAG/table13.{md,json} and OUT/runs/TAG.jsonl"
    ),
) -> None:
    """Table XIII: DHCN and DHCN* over seeds with paired t-tests, beside the paper's
    numbers (finished runs reused, interrupted ones continued)."""
    from lmam.tasks.session.table13 import run_table13

    report = run_table13(
        data_dir, list(range(seeds)), epochs=epochs, max_cases=max_cases, jobs=jobs,
        runs_dir=runs_dir, out=out, device=device,
        overrides={"dim": dim, "batch_size": batch_size},
    )  # fmt: skip
    print(report.markdown(), end="")
