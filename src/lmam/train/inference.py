"""Use a finished run: re-evaluate its checkpoint, or predict on new data."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lmam.data import ConversationDataset, DataError, collate
from lmam.data.normalize import Standardizer
from lmam.errors import RunError
from lmam.models import ERCModel
from lmam.train import checkpoint
from lmam.train.config import TrainConfig
from lmam.train.engine import EVAL_BATCH, Records, load_dataset, model_from_config, to_records
from lmam.train.io import atomic_write_text
from lmam.train.metrics import classification_metrics, regression_metrics


def standardize(ds: ConversationDataset, desc: dict[str, Any]) -> ConversationDataset:
    """``ds`` with the feature standardisation the run was trained with (if any)."""
    stats = desc.get("normalization")
    return Standardizer.from_dict(stats).apply_dataset(ds) if stats else ds


def load_model(run_dir: Path) -> tuple[ERCModel, dict[str, Any]]:
    """The selected checkpoint of a run and its description."""
    run_dir = Path(run_dir)
    best = run_dir / "best"
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory")
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
    return model.eval(), desc


@torch.no_grad()
def predict_conversations(
    model: ERCModel, convs: list, modalities: list[str], task: str
) -> Records:
    parts = []
    for start in range(0, len(convs), EVAL_BATCH):
        batch = collate(convs[start : start + EVAL_BATCH], modalities)
        logits = model(batch.feats, batch.mask, batch.speakers)
        parts.append(to_records(logits, batch.labels, batch.mask, batch.ids, task))
    return Records.concat(parts)


def evaluate_run(run_dir: Path) -> dict[str, Any]:
    """Recompute the test metrics of a run from its checkpoint.

    Returns:
        ``{"recorded": ..., "recomputed": ..., "identical": bool}``.
    """
    model, desc = load_model(run_dir)
    summary = Path(run_dir) / "summary.json"
    if not summary.is_file():
        raise RunError(
            f"{run_dir}: the run did not finish (no summary.json), so there is no record to "
            f"compare with; continue it with lmam train --resume {run_dir}"
        )
    config = TrainConfig.from_dict(desc["config"])
    ds = standardize(load_dataset(config), desc)
    rec = predict_conversations(model, ds.test, list(desc["in_dims"]), desc["task"])
    if desc["task"] == "classification":
        metrics = classification_metrics(rec.labels, rec.preds, desc["label_names"])
    else:
        metrics = regression_metrics(rec.labels, rec.preds)
    with open(summary) as f:
        recorded = json.load(f)["test"]
    return {"recorded": recorded, "recomputed": metrics, "identical": recorded == metrics}


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


def predict_run(run_dir: Path, data: str, out: Path) -> int:
    """Write predictions of a run's model for every conversation of ``data``; returns the row count."""
    from lmam.data.detect import open_dataset

    model, desc = load_model(run_dir)
    ds = open_dataset(data)
    in_dims = {m: int(w) for m, w in desc["in_dims"].items()}
    check_compatible(ds, in_dims, data)
    ds = standardize(ds.select_modalities(list(in_dims)), desc)
    names = desc["label_names"]
    buf = io.StringIO()
    w = csv.writer(buf)
    header = ["split", "dialogue", "utterance", "prediction"]
    if desc["task"] == "classification":
        header += [f"p_{n}" for n in names]
    w.writerow(header)
    rows = 0
    for split, convs in ds.splits.items():
        if not convs:
            continue
        rec = predict_conversations(model, convs, list(in_dims), desc["task"])
        for k in range(len(rec.dialogue)):
            if desc["task"] == "classification":
                extra = [names[int(rec.preds[k])], *[f"{p:.6f}" for p in rec.scores[k]]]
            else:
                extra = [np.round(rec.preds[k], 6).tolist()]
            w.writerow([split, rec.dialogue[k], rec.utterance[k], *extra])
            rows += 1
    atomic_write_text(Path(out), buf.getvalue())
    return rows
