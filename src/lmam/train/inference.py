"""Use a finished run: re-evaluate its checkpoint, or predict on new data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lmam.data import IGNORE_INDEX, ConversationDataset, DataError, collate
from lmam.data.dataset import Batch
from lmam.data.normalize import Standardizer
from lmam.errors import RunError
from lmam.models import ERCModel
from lmam.outputs import atomic_write_text
from lmam.train import checkpoint
from lmam.train.build import load_dataset, model_from_config, resolve_device
from lmam.train.config import TrainConfig
from lmam.train.engine import FAILED, failure_line
from lmam.train.metrics import classification_metrics, regression_metrics
from lmam.train.precision import autocast, check_precision, compiled
from lmam.train.predictions import EVAL_BATCH, Records, to_records


def standardize(ds: ConversationDataset, desc: dict[str, Any]) -> ConversationDataset:
    """``ds`` with the feature standardisation the run was trained with (if any)."""
    stats = desc.get("normalization")
    return Standardizer.from_dict(stats).apply_dataset(ds) if stats else ds


def load_model(run_dir: Path, device: str = "cpu") -> tuple[ERCModel, dict[str, Any]]:
    """The selected checkpoint of a run and its description, on ``device`` (``cpu``,
    ``cuda``, ``cuda:N``, ``mps`` or ``auto``)."""
    run_dir = Path(run_dir)
    best = run_dir / "best"
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory")
    if (run_dir / FAILED).is_file():
        raise RunError(f"{run_dir}: this run {failure_line(run_dir)}; its model is not a result")
    if not (best / "model.json").exists() and (run_dir / "record.json").is_file():
        raise RunError(
            f"{run_dir}: the record of a finished run (its metrics, restored from "
            "lmam reproduce's results), without weights; train it again to use it"
        )
    if not (best / "model.json").exists():
        hint = (
            f"; it has no completed epoch yet (continue it with lmam train --resume {run_dir})"
            if (run_dir / "config.yaml").is_file()
            else " (a run directory holds config.yaml, best/, summary.json)"
        )
        raise RunError(f"{run_dir}: no checkpoint (best/model.json) in this directory{hint}")
    desc = checkpoint.load_description(best)
    config = TrainConfig.from_dict(desc["config"])
    model = model_from_config(config, desc["in_dims"], desc["num_outputs"])
    checkpoint.load_weights(model, best)
    for name, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise RunError(
                f"{best / 'model.safetensors'}: weight {name} is not finite; this model "
                "diverged and cannot predict"
            )
    return model.to(resolve_device(device)).eval(), desc


@torch.no_grad()
def predict_conversations(
    model: torch.nn.Module, convs: list, modalities: list[str], task: str, precision: str = "32"
) -> Records:
    """The model's records for ``convs``, in their order, on the model's device (under
    autocast at ``precision``: ``32``, ``bf16`` or ``fp16``)."""
    return Records.concat(
        [
            to_records(logits.float(), b.labels, b.mask, b.ids, task)
            for b, logits in batched_logits(model, convs, modalities, precision)
        ]
    )


def batched_logits(
    model: torch.nn.Module,
    convs: list,
    modalities: list[str],
    precision: str = "32",
    size: int = EVAL_BATCH,
) -> Iterator[tuple[Batch, Tensor]]:
    """``convs`` in order, ``size`` at a time, collated on the model's device, each with
    the model's logits ``(B, T, C)`` (under autocast at ``precision``)."""
    device = next(model.parameters()).device
    check_precision(precision, device)
    for start in range(0, len(convs), size):
        batch = collate(convs[start : start + size], modalities).to(device)
        with autocast(precision, device):
            logits = model(batch.feats, batch.mask, batch.speakers)
        yield batch, logits


def scores(rec: Records, desc: dict[str, Any]) -> dict[str, Any] | None:
    """The metrics of the labelled utterances of ``rec`` (``None``: none is labelled).

    Classification: accuracy, weighted and macro F1, per class, confusion matrix
    (:func:`~lmam.train.metrics.classification_metrics`); regression: MAE, Pearson r, ...
    """
    if desc["task"] == "classification":
        keep = np.asarray(rec.labels) != IGNORE_INDEX
        if not keep.any():
            return None
        return classification_metrics(rec.labels[keep], rec.preds[keep], desc["label_names"])
    labels = np.asarray(rec.labels, dtype=np.float64)
    keep = np.isfinite(labels) if labels.ndim == 1 else np.isfinite(labels).all(axis=-1)
    if not keep.any():
        return None
    return regression_metrics(labels[keep], np.asarray(rec.preds)[keep])


def evaluate_run(
    run_dir: Path,
    data: str | None = None,
    device: str = "cpu",
    precision: str = "32",
    compile: bool = False,
) -> dict[str, Any]:
    """Recompute the test metrics of a run from its checkpoint, or score it on new data.

    Args:
        run_dir: a finished run.
        data: labelled data with features, in any readable format, to score the
            model on instead of the run's test split (every split, every labelled
            utterance; for a conversation file see
            :func:`lmam.train.predictor.evaluate_conversations`).
        device, precision: where and at which precision the model runs (a recomputation
            at another device or precision may differ from the record in the last bits).
        compile: run the model compiled by :func:`torch.compile` (dynamic shapes).

    Returns:
        Without ``data``: ``{"recorded": ..., "recomputed": ..., "identical": bool}``.
        With ``data``: ``{"data": data, "metrics": ...}`` (with the confusion matrix).

    Raises:
        DataError: ``data`` has no labels, or does not fit the model.
    """
    if data is not None:
        metrics = _score_data(Path(run_dir), data, device, precision, compile)
        return {"data": data, "metrics": metrics}
    model, desc = load_model(run_dir, device)
    summary = Path(run_dir) / "summary.json"
    if not summary.is_file():
        raise RunError(
            f"{run_dir}: the run did not finish (no summary.json), so there is no record to "
            f"compare with; continue it with lmam train --resume {run_dir}"
        )
    config = TrainConfig.from_dict(desc["config"])
    ds = standardize(load_dataset(config), desc)
    runner = compiled(model, compile)
    rec = predict_conversations(runner, ds.test, list(desc["in_dims"]), desc["task"], precision)
    if desc["task"] == "classification":
        metrics = classification_metrics(rec.labels, rec.preds, desc["label_names"])
    else:
        metrics = regression_metrics(rec.labels, rec.preds)
    with open(summary) as f:
        recorded = json.load(f)["test"]
    return {"recorded": recorded, "recomputed": metrics, "identical": recorded == metrics}


def _score_data(
    run_dir: Path, data: str, device: str, precision: str, compile: bool
) -> dict[str, Any]:
    _, rec, desc = _predict_data(run_dir, data, device, precision, compile)
    metrics = scores(Records.concat(list(rec.values())), desc)
    if metrics is None:
        raise DataError("has no labels to score the model against", file=data)
    return metrics


def _predict_data(
    run_dir: Path, data: str, device: str = "cpu", precision: str = "32", compile: bool = False
) -> tuple[ConversationDataset, dict[str, Records], dict[str, Any]]:
    """The run's predictions for every split of ``data`` (data with features)."""
    from lmam.data.detect import open_dataset

    loaded, desc = load_model(run_dir, device)
    model = compiled(loaded, compile)
    ds = open_dataset(data)
    in_dims = {m: int(w) for m, w in desc["in_dims"].items()}
    check_compatible(ds, in_dims, data)
    ds = standardize(ds.select_modalities(list(in_dims)), desc)
    out = {
        split: predict_conversations(model, convs, list(in_dims), desc["task"], precision)
        for split, convs in ds.splits.items()
        if convs
    }
    return ds, out, desc


def check_compatible(ds: ConversationDataset, in_dims: dict[str, int], source: str) -> None:
    """Refuse data whose modalities or widths differ from the model's."""
    missing = [m for m in in_dims if m not in ds.modalities]
    if missing:
        raise DataError(
            f"the model needs modalities {list(in_dims)}, this data has {list(ds.modalities)} "
            f"(missing {missing})",
            file=source,
            field=missing[0],
        )
    for m, width in in_dims.items():
        if ds.modalities[m] != width:
            raise DataError(
                f"the model was trained on {m} features of width {width}, this data has "
                f"width {ds.modalities[m]}",
                file=source,
                field=m,
            )


def predict_run(
    run_dir: Path,
    data: str,
    out: Path,
    device: str = "cpu",
    precision: str = "32",
    compile: bool = False,
) -> tuple[int, dict[str, Any] | None]:
    """Write predictions of a run's model for every conversation of ``data`` (the model
    on ``device`` at ``precision``, compiled by :func:`torch.compile` with ``compile``).

    Returns:
        ``(rows written, metrics of the labelled utterances or None)``.
    """
    _, by_split, desc = _predict_data(run_dir, data, device, precision, compile)
    names = desc["label_names"]
    buf = io.StringIO()
    w = csv.writer(buf)
    header = ["split", "dialogue", "utterance", "prediction"]
    if desc["task"] == "classification":
        header += [f"p_{n}" for n in names]
    w.writerow(header)
    rows = 0
    for split, rec in by_split.items():
        for k in range(len(rec.dialogue)):
            if desc["task"] == "classification":
                extra = [names[int(rec.preds[k])], *[f"{p:.6f}" for p in rec.scores[k]]]
            else:
                extra = [np.round(rec.preds[k], 6).tolist()]
            w.writerow([split, rec.dialogue[k], rec.utterance[k], *extra])
            rows += 1
    atomic_write_text(Path(out), buf.getvalue())
    return rows, scores(Records.concat(list(by_split.values())), desc)
