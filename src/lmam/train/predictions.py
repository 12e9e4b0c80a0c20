"""Per-utterance predictions of a split (:class:`Records`), and writing them into a run."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lmam.outputs import atomic_write_text
from lmam.train.metrics import classification_metrics

EVAL_BATCH = 64
"""Dialogues per batch when predicting."""


@dataclass
class Records:
    """Per-utterance predictions of one split."""

    dialogue: list[str]
    utterance: list[int]
    labels: np.ndarray
    preds: np.ndarray
    scores: np.ndarray  # probabilities (classification) or raw outputs (regression)

    @staticmethod
    def concat(parts: list[Records]) -> Records:
        parts = [p for p in parts if len(p.dialogue)]
        if not parts:
            return Records([], [], np.zeros(0), np.zeros(0), np.zeros((0, 0)))
        return Records(
            [d for p in parts for d in p.dialogue],
            [u for p in parts for u in p.utterance],
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.preds for p in parts]),
            np.concatenate([p.scores for p in parts]),
        )


def to_records(logits: Tensor, labels: Tensor, mask: Tensor, ids: list[str], task: str) -> Records:
    """Real utterances of a batch as records (logits ``(B, T, C)``, labels ``(B, T)``, mask ``(B, T)``)."""
    keep = mask.cpu()
    lg = logits.detach().float().cpu()[keep]
    lab = labels.cpu()[keep]
    if task == "classification":
        scores = torch.softmax(lg, dim=-1)
        preds = scores.argmax(-1)
    else:
        scores = lg
        preds = lg.squeeze(-1) if lg.shape[-1] == 1 and lab.dim() == 1 else lg
    rows, cols = torch.nonzero(keep, as_tuple=True)
    return Records(
        [ids[int(r)] for r in rows],
        [int(c) for c in cols],
        lab.numpy(),
        preds.numpy(),
        scores.numpy(),
    )


def write_records(rec: Records, run_dir: Path, task: str, label_names: list[str]) -> None:
    """The test split's ``predictions.csv`` (and ``confusion.csv``) of a run directory."""
    buf = io.StringIO()
    w = csv.writer(buf)
    if task == "classification":
        w.writerow(
            [
                "dialogue",
                "utterance",
                "label",
                "prediction",
                *[f"p_{n}" for n in label_names],
            ]
        )
        for k in range(len(rec.dialogue)):
            w.writerow(
                [
                    rec.dialogue[k],
                    rec.utterance[k],
                    label_names[int(rec.labels[k])],
                    label_names[int(rec.preds[k])],
                    *[f"{p:.6f}" for p in rec.scores[k]],
                ]
            )
    else:
        w.writerow(["dialogue", "utterance", "label", "prediction"])
        for k in range(len(rec.dialogue)):
            w.writerow(
                [
                    rec.dialogue[k],
                    rec.utterance[k],
                    _rounded(rec.labels[k]),
                    _rounded(rec.preds[k]),
                ]
            )
    atomic_write_text(run_dir / "predictions.csv", buf.getvalue())
    if task == "classification" and len(rec.dialogue):
        cm = classification_metrics(rec.labels, rec.preds, label_names)["confusion_matrix"]
        lines = [",".join(["label \\ prediction", *label_names])]
        lines += [",".join([n, *map(str, row)]) for n, row in zip(label_names, cm)]
        atomic_write_text(run_dir / "confusion.csv", "\n".join(lines) + "\n")


def _rounded(value: np.ndarray) -> Any:
    """A regression target or prediction (a scalar or ``(K,)``) rounded to 6 decimals, as
    plain floats (float32 widened first, so 2.4 is written 2.4, not 2.4000000953674316)."""
    return np.round(np.asarray(value, dtype=np.float64), 6).tolist()
