"""The paper's metrics, computed with scikit-learn and SciPy over real utterances only."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, mean_absolute_error


def classification_metrics(
    labels: np.ndarray, preds: np.ndarray, label_names: list[str]
) -> dict[str, Any]:
    """Accuracy, weighted and macro F1, per-class accuracy (recall) and F1, confusion matrix.

    Args:
        labels: ``(N,)`` true class ids of the real utterances.
        preds: ``(N,)`` predicted class ids.
        label_names: the class names (their order gives the ids).
    """
    ids = list(range(len(label_names)))
    with warnings.catch_warnings():  # every class is given: one class present is well defined
        warnings.filterwarnings("ignore", message="A single label was found")
        cm = confusion_matrix(labels, preds, labels=ids)
    support = cm.sum(axis=1)
    per_acc = np.divide(np.diag(cm), support, out=np.zeros(len(ids)), where=support > 0)
    per_f1 = f1_score(labels, preds, labels=ids, average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, preds)),
        "weighted_f1": float(
            f1_score(labels, preds, labels=ids, average="weighted", zero_division=0)
        ),
        "macro_f1": float(f1_score(labels, preds, labels=ids, average="macro", zero_division=0)),
        "per_class": {
            name: {
                "accuracy": float(per_acc[i]),
                "f1": float(per_f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": cm.tolist(),
        "n": len(labels),
    }


def regression_metrics(labels: np.ndarray, preds: np.ndarray) -> dict[str, Any]:
    """MAE, Pearson r, and for sentiment scores Acc-2, F1 (of the binary split) and Acc-7.

    As in the CMU-MOSI literature: Acc-2 and the weighted F1 compare ``x >= 0``
    (negative / non-negative); Acc-7 compares ``round(clip(x, -3, 3))`` (numpy's
    rounding, half to even), the 7 classes -3..3.

    Args:
        labels: ``(N,)`` or ``(N, K)`` true values.
        preds: the same shape, predictions.
    """
    labels = np.asarray(labels, dtype=np.float64)
    preds = np.asarray(preds, dtype=np.float64)
    out: dict[str, Any] = {
        "mae": float(
            mean_absolute_error(labels.reshape(len(labels), -1), preds.reshape(len(preds), -1))
        ),
        "n": len(labels),
    }
    flat_l, flat_p = labels.ravel(), preds.ravel()
    out["pearson_r"] = (
        float(stats.pearsonr(flat_l, flat_p)[0])
        if np.std(flat_l) > 0 and np.std(flat_p) > 0
        else 0.0
    )
    if labels.ndim == 1:
        bin_l, bin_p = flat_l >= 0, flat_p >= 0
        out["acc2"] = float(accuracy_score(bin_l, bin_p))
        out["f1"] = float(f1_score(bin_l, bin_p, average="weighted", zero_division=0))
        out["acc7"] = float(accuracy_score(_seven(flat_l), _seven(flat_p)))
    return out


def _seven(x: np.ndarray) -> np.ndarray:
    """``(N,)`` sentiment scores -> the 7 classes -3..3: ``round(clip(x, -3, 3))``."""
    return np.round(np.clip(x, -3.0, 3.0))


METRICS = {
    "classification": ("accuracy", "weighted_f1", "macro_f1"),
    "regression": ("mae", "pearson_r", "acc2", "f1", "acc7"),
}
"""Selection metrics by task (``acc2``, ``f1``, ``acc7``: one-dimensional scores only)."""

HIGHER_IS_BETTER = {
    "accuracy": True,
    "weighted_f1": True,
    "macro_f1": True,
    "mae": False,
    "pearson_r": True,
    "acc2": True,
    "f1": True,
    "acc7": True,
}


def better(metric: str, new: float, old: float | None) -> bool:
    """Whether ``new`` improves on ``old`` for ``metric``."""
    if old is None:
        return True
    return new > old if HIGHER_IS_BETTER.get(metric, True) else new < old
