"""Random against length-bucketed batches: padding, seconds per epoch, validation.

For every backbone (default options, batch size 16, 1 thread), with its own fusion
and with LMAM at ``early_residual``, on CMU-MOSI, IEMOCAP-text and MELD-text (the
MiniLM features, as the tables), both batchings are built side by side in one
process and their training epochs timed in turns (the engine's own
``train_epoch``, epochs 1..R, each on the same epochs); the table gives the padded
share of the positions (mean over those epochs), the median seconds per epoch and
the speed-up, and LMAM's cost (with / without) under each batching.

``--validation`` also trains each (dataset, backbone) pair given by
``--validate`` with both batchings on seeds 0..S-1 (the dataset's own epochs and
selection, no test split read) and reports the validation metric's mean and
spread: the default may change only if bucketing is faster and its validation
mean is within the seed spread of random batching's.

    python -m bench.batching [--repeats 3] [--datasets mosi,iemocap-text,meld-text]
        [--validation --validate iemocap-text:bclstm,iemocap-text:dialoguernn --seeds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from bench.common import environment, print_table, write_json
from lmam.data.batching import BATCHINGS, epoch_batches, padded_fraction
from lmam.experiments.reproduce.variants import base, star
from lmam.models import list_models
from lmam.train import TrainConfig, Trainer
from lmam.train.build import load_dataset

DATASETS = ("mosi", "iemocap-text", "meld-text")


def base_config(dataset: str, backbone: str, batching: str, lmam: bool = False) -> TrainConfig:
    """The backbone with its own fusion (or LMAM at ``early_residual``), default options."""
    variant = star(backbone) if lmam else base(backbone)
    return TrainConfig(dataset=dataset, **variant, batching=batching, threads=1)


def padding(dataset: str, epochs: Iterable[int]) -> dict[str, float]:
    ds = load_dataset(base_config(dataset, "bclstm", "random"))
    lengths = [len(c) for c in ds.train]
    return {
        b: float(
            np.mean([padded_fraction(lengths, epoch_batches(lengths, 16, 0, e, b)) for e in epochs])
        )
        for b in BATCHINGS
    }


def epoch_seconds(dataset: str, backbone: str, repeats: int) -> dict[str, float]:
    """Median seconds of a training epoch with each batching, without and with LMAM
    (keys ``random``, ``bucketed``, ``random+lmam``, ``bucketed+lmam``), timed in turns."""
    folder = tempfile.mkdtemp(prefix="lmam-bench-batching-")
    trainers = {
        b + ("+lmam" if lmam else ""): Trainer(
            replace(
                base_config(dataset, backbone, b, lmam),
                out_dir=folder,
                name=b + ("-lmam" if lmam else ""),
            ),
            quiet=True,
            use_test=False,
        )
        for lmam in (False, True)
        for b in BATCHINGS
    }
    times: dict[str, list[float]] = {b: [] for b in trainers}
    for epoch in range(1, repeats + 2):
        for b, trainer in trainers.items():
            start = time.perf_counter()
            trainer.train_epoch(epoch, trainer.forward)
            if epoch > 1:  # the first epoch of each warms up
                times[b].append(time.perf_counter() - start)
    shutil.rmtree(folder)
    return {b: statistics.median(t) for b, t in times.items()}


def validation(dataset: str, backbone: str, seeds: int, out_dir: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for b in BATCHINGS:
        values, seconds = [], []
        for seed in range(seeds):
            cfg = replace(
                base_config(dataset, backbone, b),
                seed=seed,
                out_dir=out_dir,
                name=f"{dataset}-{backbone}-{b}-{seed}",
            )
            trainer = Trainer(cfg, quiet=True, use_test=False, overwrite=True)
            summary = trainer.fit()
            values.append(float(summary["valid"][trainer.metric]))
            seconds.append(float(summary["seconds_per_epoch"]))
        result[b] = {
            "metric": trainer.metric,
            "values": values,
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "seconds_per_epoch": float(np.mean(seconds)),
        }
    r, k = result["random"], result["bucketed"]
    result["within_spread"] = abs(k["mean"] - r["mean"]) <= max(r["std"], k["std"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per batching")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--models", default=",".join(list_models()))
    parser.add_argument("--validation", action="store_true")
    parser.add_argument("--no-timing", action="store_true", help="only the validation part")
    parser.add_argument(
        "--validate", default="iemocap-text:bclstm,iemocap-text:dialoguernn,meld-text:bclstm"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs-dir", default="runs/bench-batching")
    parser.add_argument("--out", default="batching")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, table = [], []
    for dataset in [] if args.no_timing else args.datasets.split(","):
        pad = padding(dataset, range(1, args.repeats + 2))
        for backbone in args.models.split(","):
            sec = epoch_seconds(dataset, backbone, args.repeats)
            row = {
                "dataset": dataset,
                "backbone": backbone,
                "padded_random": pad["random"],
                "padded_bucketed": pad["bucketed"],
                "seconds_random": sec["random"],
                "seconds_bucketed": sec["bucketed"],
                "speedup": sec["random"] / sec["bucketed"],
                "seconds_random_lmam": sec["random+lmam"],
                "seconds_bucketed_lmam": sec["bucketed+lmam"],
                "lmam_ratio_random": sec["random+lmam"] / sec["random"],
                "lmam_ratio_bucketed": sec["bucketed+lmam"] / sec["bucketed"],
            }
            rows.append(row)
            table.append(
                [
                    dataset,
                    backbone,
                    f"{100 * pad['random']:.1f}",
                    f"{100 * pad['bucketed']:.1f}",
                    sec["random"],
                    sec["bucketed"],
                    f"{row['speedup']:.2f}x",
                    f"{row['lmam_ratio_random']:.2f}",
                    f"{row['lmam_ratio_bucketed']:.2f}",
                ]
            )
    if table:
        print_table(
            "random vs bucketed batches (batch 16, 1 thread)",
            [
                "dataset",
                "backbone",
                "padded % random",
                "padded % bucketed",
                "s/epoch random",
                "s/epoch bucketed",
                "speed-up",
                "LMAM/own random",
                "LMAM/own bucketed",
            ],
            table,
        )
    checks: dict[str, Any] = {}
    if args.validation:
        for pair in args.validate.split(","):
            dataset, backbone = pair.split(":")
            checks[pair] = validation(dataset, backbone, args.seeds, args.runs_dir)
        print_table(
            f"validation, seeds 0..{args.seeds - 1}",
            ["pair", "metric", "random mean±sd", "bucketed mean±sd", "within spread"],
            [
                [
                    pair,
                    c["random"]["metric"],
                    f"{100 * c['random']['mean']:.2f}±{100 * c['random']['std']:.2f}",
                    f"{100 * c['bucketed']['mean']:.2f}±{100 * c['bucketed']['std']:.2f}",
                    str(c["within_spread"]),
                ]
                for pair, c in checks.items()
            ],
        )
    path = write_json(
        args.out,
        {"environment": environment(), "repeats": args.repeats, "rows": rows, "validation": checks},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
