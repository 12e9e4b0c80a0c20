"""Frozen against fine-tuned text features, bc-LSTM with and without LMAM, mean +- std over seeds.

The text features are all-MiniLM-L6-v2 sentence embeddings, either frozen or
fine-tuned on the training split's labels (``lmam features text NAME
--fine-tune``: epoch chosen on validation, test never read), reading each
utterance alone or with the two before it (``--fine-tune-context 2``, the
``-context2`` variants; the 2 was fixed before any run, for the CPU time), and
fine-tuned for 8 epochs instead of 4 (the ``-e8`` variants; the epoch kept is
still the best on validation), and with cross-fitted training features (the
``-crossfit5`` variants, ``--fine-tune-folds 5``: each training dialogue embedded
by an encoder fine-tuned on the other four fifths; the 5 was fixed before any
run), and with frozen multilingual-e5-small features instead of all-MiniLM-L6-v2
(the ``-e5`` variants, ``--encoder e5-small``; the ``-frozen`` variants are
their all-MiniLM-L6-v2 counterparts), and with frozen all-mpnet-base-v2 features
(the ``-mpnet`` variants, ``--encoder mpnet``). The models select
their epoch on validation weighted F1 (the datasets' protocol); the test split
is reported.

    python -m bench.text_encoders --dataset iemocap-text --data-path ../shared/data/iemocap \
        [--seeds 5] [--threads 1] [--json bench/results/text_encoders_iemocap.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lmam.experiments.compare import compare
from lmam.train.config import TrainConfig

FINE_TUNED = {"fine_tune": True}
CONTEXT = {"fine_tune": True, "fine_tune_context": 2}
EIGHT_EPOCHS = {"fine_tune": True, "fine_tune_epochs": 8}
CROSS_FITTED = {"fine_tune": True, "fine_tune_folds": 5}
E5 = {"text_encoder": "e5-small"}
MPNET = {"text_encoder": "mpnet"}
VARIANTS: dict[str, dict[str, Any]] = {
    "bclstm-frozen": {"fusion": "concat", "embed": "early"},
    "bclstm-fine-tuned": {"fusion": "concat", "embed": "early", "dataset_options": FINE_TUNED},
    "bclstm-lmam-early_residual-fine-tuned": {
        "fusion": "lmam",
        "embed": "early_residual",
        "dataset_options": FINE_TUNED,
    },
    "bclstm-fine-tuned-context2": {
        "fusion": "concat",
        "embed": "early",
        "dataset_options": CONTEXT,
    },
    "bclstm-lmam-early_residual-fine-tuned-context2": {
        "fusion": "lmam",
        "embed": "early_residual",
        "dataset_options": CONTEXT,
    },
    "bclstm-fine-tuned-e8": {
        "fusion": "concat",
        "embed": "early",
        "dataset_options": EIGHT_EPOCHS,
    },
    "bclstm-lmam-early_residual-fine-tuned-e8": {
        "fusion": "lmam",
        "embed": "early_residual",
        "dataset_options": EIGHT_EPOCHS,
    },
    "bclstm-fine-tuned-crossfit5": {
        "fusion": "concat",
        "embed": "early",
        "dataset_options": CROSS_FITTED,
    },
    "bclstm-lmam-early_residual-fine-tuned-crossfit5": {
        "fusion": "lmam",
        "embed": "early_residual",
        "dataset_options": CROSS_FITTED,
    },
    "bclstm-e5": {"fusion": "concat", "embed": "early", "dataset_options": E5},
    "bclstm-lmam-early_residual-frozen": {"fusion": "lmam", "embed": "early_residual"},
    "bclstm-lmam-early_residual-e5": {
        "fusion": "lmam",
        "embed": "early_residual",
        "dataset_options": E5,
    },
    "emocaps-frozen": {"backbone": "emocaps", "fusion": "none", "embed": "early"},
    "emocaps-e5": {
        "backbone": "emocaps",
        "fusion": "none",
        "embed": "early",
        "dataset_options": E5,
    },
    "emocaps-lmam-early_residual-e5": {
        "backbone": "emocaps",
        "fusion": "lmam",
        "embed": "early_residual",
        "dataset_options": E5,
    },
    "bclstm-mpnet": {"fusion": "concat", "embed": "early", "dataset_options": MPNET},
    "bclstm-lmam-early_residual-mpnet": {
        "fusion": "lmam",
        "embed": "early_residual",
        "dataset_options": MPNET,
    },
    "emocaps-mpnet": {
        "backbone": "emocaps",
        "fusion": "none",
        "embed": "early",
        "dataset_options": MPNET,
    },
    "emocaps-lmam-early_residual-mpnet": {
        "backbone": "emocaps",
        "fusion": "lmam",
        "embed": "early_residual",
        "dataset_options": MPNET,
    },
    "emocaps-fine-tuned-context2": {
        "backbone": "emocaps",
        "fusion": "none",
        "embed": "early",
        "dataset_options": CONTEXT,
    },
    "emocaps-fine-tuned": {
        "backbone": "emocaps",
        "fusion": "none",
        "embed": "early",
        "dataset_options": FINE_TUNED,
    },
    "dialoguernn-fine-tuned": {
        "backbone": "dialoguernn",
        "fusion": "concat",
        "embed": "early",
        "dataset_options": FINE_TUNED,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="iemocap-text", help="iemocap-text or meld-text")
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    parser.add_argument("--out-dir", type=Path, default=Path("runs/experiments/text_encoders"))
    parser.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    base = TrainConfig(  # random batches: the protocol of the recorded tables
        dataset=args.dataset, data_path=args.data_path, batching="random", threads=args.threads
    )
    chosen = {k: VARIANTS[k] for k in args.variants.split(",")}
    compare(
        base,
        chosen,
        list(range(args.seeds)),
        args.out_dir / args.dataset,
        ["accuracy", "weighted_f1"],
        f"{args.dataset}, test set, {args.seeds} seeds, epoch selected on validation",
        False,
        args.json,
        jobs=args.jobs,
        ttests=[
            (a, b)
            for a, b in (
                ("bclstm-fine-tuned", "bclstm-frozen"),
                ("bclstm-lmam-early_residual-fine-tuned", "bclstm-fine-tuned"),
                ("bclstm-fine-tuned-context2", "bclstm-fine-tuned"),
                ("bclstm-fine-tuned-e8", "bclstm-fine-tuned"),
                ("bclstm-fine-tuned-crossfit5", "bclstm-fine-tuned"),
                (
                    "bclstm-lmam-early_residual-fine-tuned-crossfit5",
                    "bclstm-lmam-early_residual-fine-tuned",
                ),
                (
                    "bclstm-lmam-early_residual-fine-tuned-crossfit5",
                    "bclstm-fine-tuned-crossfit5",
                ),
                ("bclstm-lmam-early_residual-fine-tuned-context2", "bclstm-fine-tuned-context2"),
                ("bclstm-e5", "bclstm-frozen"),
                ("bclstm-lmam-early_residual-e5", "bclstm-lmam-early_residual-frozen"),
                ("emocaps-e5", "emocaps-frozen"),
                ("emocaps-lmam-early_residual-e5", "emocaps-e5"),
                ("bclstm-lmam-early_residual-e5", "bclstm-e5"),
                ("bclstm-mpnet", "bclstm-e5"),
                ("emocaps-mpnet", "emocaps-e5"),
                ("bclstm-lmam-early_residual-mpnet", "bclstm-mpnet"),
                ("emocaps-lmam-early_residual-mpnet", "emocaps-mpnet"),
            )
            if a in chosen and b in chosen
        ],
    )


if __name__ == "__main__":
    main()
