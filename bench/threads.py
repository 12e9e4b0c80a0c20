"""Seconds per training epoch with 1 and 2 torch threads, on an idle and on a busy machine.

The main job's models (bc-LSTM with concatenation, bc-LSTM with LMAM
early_residual) train on the bundled CMU-MOSI with the engine's own training
pass. Thread counts take turns epoch by epoch in one process (side by side),
first with nothing else started by the benchmark, then with ``--busy`` extra
CPU-bound processes (``python -c "while True: pass"``) running. The table gives
the median seconds per epoch and the ratio 2 threads / 1 thread; this is how
``lmam``'s default of one thread per run was chosen.

    python -m bench.threads [--epochs 7] [--busy 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

import torch

from bench.common import busy_loops, environment, interleaved_medians, print_table, write_json
from lmam.train import TrainConfig, Trainer

VARIANTS: dict[str, dict[str, Any]] = {
    "bc-LSTM (concat)": {"fusion": "concat", "embed": "early"},
    "bc-LSTM + LMAM (early_residual)": {"fusion": "lmam", "embed": "early_residual"},
}
THREADS = (1, 2)


def epoch_job(trainer: Trainer, threads: int):
    state = {"epoch": 0}

    def run() -> None:
        torch.set_num_threads(threads)
        state["epoch"] += 1
        trainer.train_epoch(state["epoch"], trainer.model)

    return run


def measure(trainers: dict[str, Trainer], epochs: int) -> dict[str, float]:
    jobs = {
        f"{name} | {t}": epoch_job(trainer, t)
        for name, trainer in trainers.items()
        for t in THREADS
    }
    return interleaved_medians(jobs, dict.fromkeys(jobs, epochs))


def load_average() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--busy", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {
            name: Trainer(TrainConfig(dataset="mosi", out_dir=tmp, **v), quiet=True)
            for name, v in VARIANTS.items()
        }
        conditions = {}
        before = load_average()
        conditions["no extra load"] = (measure(trainers, args.epochs), before)
        with busy_loops(args.busy, settle=2.0):
            conditions[f"{args.busy} busy loops"] = (
                measure(trainers, args.epochs),
                load_average(),
            )
    rows, out = [], []
    for condition, (medians, load) in conditions.items():
        for name in VARIANTS:
            one, two = medians[f"{name} | 1"], medians[f"{name} | 2"]
            rows.append([condition, name, one, two, two / one, load])
            out.append(
                {
                    "condition": condition,
                    "variant": name,
                    "seconds_1_thread": one,
                    "seconds_2_threads": two,
                    "ratio_2_over_1": two / one,
                    "load_average_1min": load,
                }
            )
    print_table(
        f"seconds per training epoch on CMU-MOSI, median of {args.epochs}",
        ["condition", "model", "1 thread", "2 threads", "2 / 1", "load avg"],
        rows,
    )
    path = write_json(
        "threads",
        {"environment": environment(), "epochs": args.epochs, "busy": args.busy, "rows": out},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
