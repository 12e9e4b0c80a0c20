"""Text features: utterances per second of the exact encoder and its faster variants.

Side by side in one process, in turns (``--rounds`` rounds, the median reported), on
the first ``--utterances`` IEMOCAP training utterances (``../shared/data/iemocap``),
one thread, the model load excluded:

- ``exact, batch B``: all-MiniLM-L6-v2 as ``lmam features text`` runs it, texts sorted
  by length, for each batch size of ``--batch-sizes`` (the first is the reference);
- ``int8, batch B``: the ``minilm-int8`` encoder (int8 dynamic quantization of the
  Linear layers) at the same batch sizes;
- ``onnx, batch B``: the ``minilm-onnx`` encoder (the same model run by ONNX Runtime,
  one thread) at the same batch sizes.

Each variant's embeddings are compared with the reference's: the largest absolute
difference and the mean cosine similarity. ``--downstream`` then trains bc-LSTM on
IEMOCAP-text with the features of each encoder (seeds 0..S-1, the dataset's own
epochs and validation selection, the test split never read) and reports the
validation weighted F1 of each: a faster path may be used only where it stays
within the seed spread of the exact one.

    python -m bench.text_throughput [--utterances 1500] [--rounds 3]
        [--batch-sizes 128,32,16] [--downstream --seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.common import environment, print_table, write_json
from lmam.data.transcripts import read_transcripts
from lmam.features.text import embed_texts, load_encoder

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "iemocap"


DOWNSTREAM = ("minilm", "minilm-int8", "minilm-onnx")


def downstream(seeds: int, runs_dir: str) -> dict[str, Any]:
    from lmam.train import TrainConfig, Trainer

    out: dict[str, Any] = {}
    for encoder in DOWNSTREAM:
        values = []
        for seed in range(seeds):
            config = TrainConfig(
                dataset="iemocap-text",
                dataset_options={"text_encoder": encoder},
                backbone="bclstm",
                seed=seed,
                threads=1,
                out_dir=runs_dir,
                name=f"{encoder}-{seed}",
            )
            trainer = Trainer(config, quiet=True, use_test=False, overwrite=True)
            values.append(float(trainer.fit()["valid"]["weighted_f1"]))
        out[encoder] = {
            "values": values,
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if seeds > 1 else 0.0,
        }
    a = out["minilm"]
    out["within_spread"] = {
        e: abs(a["mean"] - out[e]["mean"]) <= max(a["std"], out[e]["std"]) for e in DOWNSTREAM[1:]
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", default="128,32,16")
    parser.add_argument("--downstream", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs-dir", default="runs/bench-text")
    parser.add_argument("--out", default="text_throughput")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ds = read_transcripts(SHARED)
    texts = [t for c in ds.train for t in c.texts or []][: args.utterances]
    encoders = {
        "exact": load_encoder(device="cpu"),
        "int8": load_encoder(encoder="minilm-int8"),
        "onnx": load_encoder(encoder="minilm-onnx"),
    }
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    variants = [(kind, b) for kind in encoders for b in sizes]
    for kind, _ in variants:
        embed_texts(texts[:64], encoders[kind], progress=False)  # warm-up
    seconds: dict[tuple[str, int], list[float]] = {v: [] for v in variants}
    embeddings: dict[tuple[str, int], np.ndarray] = {}
    for _ in range(args.rounds):
        for kind, b in variants:
            start = time.perf_counter()
            embeddings[kind, b] = embed_texts(texts, encoders[kind], batch_size=b, progress=False)
            seconds[kind, b].append(time.perf_counter() - start)
    ref = embeddings[variants[0]]
    base = len(texts) / statistics.median(seconds[variants[0]])
    rows = []
    for kind, b in variants:
        rate = len(texts) / statistics.median(seconds[kind, b])
        e = embeddings[kind, b]
        cosine = (e * ref).sum(1) / (np.linalg.norm(e, axis=1) * np.linalg.norm(ref, axis=1))
        rows.append(
            {
                "variant": f"{kind}, batch {b}",
                "utterances_per_second": rate,
                "speedup": rate / base,
                "max_abs_diff": float(np.abs(e - ref).max()),
                "mean_cosine": float(cosine.mean()),
                "min_cosine": float(cosine.min()),
            }
        )
    print_table(
        f"text features, {len(texts)} IEMOCAP utterances, 1 thread, median of {args.rounds}",
        ["variant", "utt/s", "speed-up", "max |diff|", "mean cos", "min cos"],
        [
            [
                r["variant"],
                r["utterances_per_second"],
                f"{r['speedup']:.2f}x",
                f"{r['max_abs_diff']:.2e}",
                f"{r['mean_cosine']:.4f}",
                f"{r['min_cosine']:.4f}",
            ]
            for r in rows
        ],
    )
    checks = downstream(args.seeds, args.runs_dir) if args.downstream else {}
    if checks:
        print_table(
            f"bc-LSTM on IEMOCAP-text, validation weighted F1, seeds 0..{args.seeds - 1}",
            ["features", "mean", "sd", "values"],
            [
                [
                    k,
                    100 * v["mean"],
                    100 * v["std"],
                    " ".join(f"{100 * x:.2f}" for x in v["values"]),
                ]
                for k, v in checks.items()
                if k in DOWNSTREAM
            ],
        )
        print(f"within the seed spread: {checks['within_spread']}")
    path = write_json(
        args.out,
        {
            "environment": environment(),
            "utterances": len(texts),
            "rows": rows,
            "downstream": checks,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
