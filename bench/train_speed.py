"""Seconds per training epoch of bc-LSTM, bc-LSTM+Att and bc-LSTM with LMAM on IEMOCAP-shaped data.

The 120 training dialogues (train + valid) keep IEMOCAP's real lengths, read
from the transcript pickle in ../shared/data/iemocap; the features are random
with IEMOCAP's classic widths (text 100, audio 100, visual 512), 6 classes.
Each model's epoch is the engine's own training pass; the models take turns
epoch by epoch (side by side in one process) and the median is reported,
beside the paper's Table VI (GPU) figures.

    python -m bench.train_speed [--epochs 5] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench.common import environment, print_table, random_dataset, write_json
from lmam.data import ConversationDataset, register_dataset
from lmam.data.transcripts import read_transcripts
from lmam.train import TrainConfig, Trainer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "iemocap"
WIDTHS = {"text": 100, "audio": 100, "visual": 512}
PAPER_GPU_SECONDS = {"bc-LSTM": 1.21, "bc-LSTM+Att": 4.13, "bc-LSTM + LMAM": 2.18}
VARIANTS: dict[str, dict[str, Any]] = {
    "bc-LSTM": {"fusion": "concat", "embed": "early"},
    "bc-LSTM+Att": {"fusion": "concat", "embed": "early", "model_options": {"attention": True}},
    "bc-LSTM + LMAM": {"fusion": "lmam", "embed": "early_residual", "fusion_options": {"rank": 45}},
}
TARGET_SECONDS = 2.18


def iemocap_lengths() -> list[int]:
    ds = read_transcripts(SHARED)
    lengths = [len(c) for c in ds.train + ds.valid]
    assert len(lengths) == 120 and sum(lengths) == 5810, (len(lengths), sum(lengths))
    return lengths


@register_dataset(
    "bench-iemocap-shaped", "IEMOCAP's 120 training dialogue lengths, random features"
)
def iemocap_shaped(path: Path | None = None) -> ConversationDataset:
    labels = ["happy", "sad", "neutral", "angry", "excited", "frustrated"]
    return random_dataset("bench-iemocap-shaped", iemocap_lengths(), WIDTHS, labels, test=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=5, help="timed epochs per model (after one warm-up)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="dialogues per batch (Algorithm 1 uses 32)"
    )
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(
            f"{SHARED} is absent: this benchmark needs IEMOCAP's real dialogue lengths"
        )
    trainers = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, changes in VARIANTS.items():
            cfg = TrainConfig(
                dataset="bench-iemocap-shaped",
                batch_size=args.batch_size,
                out_dir=tmp,
                batching="random",  # as recorded
                name=name.replace(" ", "").replace("+", "_"),
                **changes,
            )
            trainers[name] = Trainer(cfg, quiet=True)
        times: dict[str, list[float]] = {name: [] for name in trainers}
        for epoch in range(args.epochs + 1):
            for name, trainer in trainers.items():
                start = time.perf_counter()
                trainer.train_epoch(epoch + 1, trainer.model)
                if epoch > 0:  # the first epoch is a warm-up
                    times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    params = {name: sum(p.numel() for p in t.model.parameters()) for name, t in trainers.items()}
    rows = [
        [name, params[name], med[name], med[name] / med["bc-LSTM"], PAPER_GPU_SECONDS[name]]
        for name in trainers
    ]
    print_table(
        f"seconds per training epoch, 120 IEMOCAP-length dialogues, batch {args.batch_size}, "
        f"{torch.get_num_threads()} threads, median of {args.epochs}",
        ["model", "params", "seconds", "x bc-LSTM", "paper (GPU)"],
        rows,
    )
    met = med["bc-LSTM + LMAM"] < TARGET_SECONDS
    print(
        f"target: bc-LSTM + LMAM under {TARGET_SECONDS} s per epoch: {'met' if met else 'NOT met'}"
    )
    path = write_json(
        "train_speed",
        {
            "config": {
                "batch_size": args.batch_size,
                "epochs_timed": args.epochs,
                "widths": WIDTHS,
                "dialogues": 120,
                "utterances": 5810,
                "variants": VARIANTS,
            },
            "environment": environment(),
            "params": params,
            "seconds_per_epoch": med,
            "all_seconds": times,
            "paper_gpu_seconds": PAPER_GPU_SECONDS,
            "target_seconds": TARGET_SECONDS,
            "target_met": met,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
