"""Building a run from its config: the device, the dataset, the loss and metric, the model.

Everything here is checked before a run directory exists (see
:class:`lmam.train.engine.Trainer`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lmam.data import ConversationDataset, DataError, create_dataset, list_datasets
from lmam.data.dataset import WORDS
from lmam.data.normalize import Standardizer
from lmam.errors import OptionError
from lmam.features import datasets as _text_datasets  # noqa: F401  (registers the *-text datasets)
from lmam.models import ERCModel, create_model
from lmam.models.registry import get_backbone
from lmam.models.textcnn import TextCNNEncoder
from lmam.options import closest
from lmam.train.config import TrainConfig
from lmam.train.metrics import METRICS


def resolve_device(name: str) -> torch.device:
    """The torch device of ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto``.

    Raises:
        OptionError: an unknown name, or a device this machine does not have.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise OptionError(f"device must be cpu, cuda, cuda:N, mps or auto, got {name!r}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionError(f"device {name!r} asked for, but CUDA is not available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise OptionError(
                f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise OptionError(f"device {name!r} asked for, but MPS is not available here")
    return device


def load_dataset(config: TrainConfig) -> ConversationDataset:
    """The dataset named (or pointed to) by the config, restricted to its modalities."""
    if config.dataset in list_datasets():
        ds = create_dataset(config.dataset, config.data_path, **config.dataset_options)
    else:
        from lmam.data.detect import open_dataset

        if config.data_path is not None:
            raise OptionError(
                f"data_path {config.data_path!r} applies to a registered dataset (lmam data "
                f"list); {config.dataset!r} is read as a path"
            )
        ds = open_dataset(config.dataset, **config.dataset_options)
    if not config.modalities and WORDS in ds.modalities:  # word ids: only when named
        ds = ds.select_modalities([m for m in ds.modalities if m != WORDS])
    for m in config.modality_dropout:
        if m == WORDS:
            raise OptionError(f"modality_dropout: {WORDS!r} holds word ids, not features")
        if m not in (config.modalities or ds.modalities):
            raise OptionError(
                f"modality_dropout: the run has no modality {m!r}; "
                f"it has {', '.join(config.modalities or ds.modalities)}"
            )
    if config.modalities:
        unknown = [m for m in config.modalities if m not in ds.modalities]
        if unknown:
            raise OptionError(
                f"modalities: {ds.name} has no modality {unknown[0]!r}; "
                f"it has {', '.join(ds.modalities) or 'no features'}"
            )
        ds = ds.select_modalities(list(config.modalities))
    if not ds.modalities:
        raise DataError(
            "has no features to train on (texts only?): compute some first, e.g. "
            "lmam features text",
            file=config.dataset,
        )
    return ds


def portable(config: TrainConfig) -> TrainConfig:
    """``config`` with its data paths made absolute, so a run works from any directory."""
    changes: dict[str, Any] = {}
    if config.dataset not in list_datasets() and Path(config.dataset).exists():
        changes["dataset"] = str(Path(config.dataset).resolve())
    if config.data_path is not None:
        changes["data_path"] = str(Path(config.data_path).resolve())
    return dataclasses.replace(config, **changes) if changes else config


def resolve_loss(config: TrainConfig, ds: ConversationDataset) -> str:
    """The config's loss, or the task's default (``ce`` / ``mse``); refuses a mismatch."""
    if config.loss is None:
        return "mse" if ds.task == "regression" else "ce"
    if ds.task == "regression" and config.loss != "mse":
        raise OptionError(
            f"loss {config.loss!r}: dataset {ds.name!r} is a regression task; use mse "
            "(the default for regression)"
        )
    if ds.task == "classification" and config.loss == "mse":
        raise OptionError(
            f"loss 'mse': dataset {ds.name!r} is a classification task; use ce, "
            "weighted_ce or focal"
        )
    return config.loss


def resolve_metric(config: TrainConfig, ds: ConversationDataset) -> str:
    """The selection metric (default ``weighted_f1``, ``mae`` for regression), checked."""
    default = "mae" if ds.task == "regression" else "weighted_f1"
    metric = config.metric or default
    allowed = METRICS[ds.task]
    if ds.task == "regression" and num_outputs(ds) > 1:
        allowed = ("mae", "pearson_r")  # Acc-2, F1, Acc-7 are for one score
    if metric not in allowed:
        raise OptionError(
            f"metric must be one of {', '.join(allowed)} for {ds.task} "
            f"(dataset {ds.name!r}), got {metric!r}{closest(metric, list(allowed))}"
        )
    return metric


def num_outputs(ds: ConversationDataset) -> int:
    if ds.task == "classification":
        return ds.num_classes
    first = ds.train[0].labels
    return 1 if first.ndim == 1 else int(first.shape[1])


def model_from_config(config: TrainConfig, in_dims: dict[str, int], outputs: int) -> ERCModel:
    """The model a config describes, for these input widths and output count."""
    dropout = {} if config.dropout is None else {"dropout": config.dropout}  # None: its own
    model = create_model(
        config.backbone,
        in_dims=in_dims,
        num_classes=outputs,
        fusion=config.fusion,
        embed=config.embed,
        fusion_dim=config.fusion_dim,
        fusion_options=config.fusion_options,
        **dropout,
        **config.model_options,
    )
    assert isinstance(model, ERCModel)
    readers = [m for m in model.modules() if isinstance(m, TextCNNEncoder) and m.over == "words"]
    if (WORDS in in_dims or readers) and (list(in_dims) != [WORDS] or not readers):
        raise OptionError(
            f"the modality {WORDS!r} (word ids) is read by backbone textcnn with over=words "
            f"alone: give that model modalities [{WORDS}] (this run: backbone "
            f"{config.backbone}, modalities {', '.join(in_dims)})"
        )
    if readers:
        from lmam.features.words import word_vectors

        table = word_vectors()
        for reader in readers:
            reader.load_word_vectors(table)
    return model


def with_speaker_count(config: TrainConfig, ds: ConversationDataset) -> TrainConfig:
    """``config`` with the model option ``num_speakers`` set to the most speakers any
    dialogue of ``ds`` has, when the backbone takes that option (DialogueGCN's
    relation count) and the config leaves it unset; recorded in the run's config."""
    options = get_backbone(config.backbone).options()
    if "num_speakers" not in options or "num_speakers" in config.model_options:
        return config
    most = max(
        (len(np.unique(c.speakers)) for split in ds.splits.values() for c in split), default=1
    )
    return dataclasses.replace(
        config, model_options={**config.model_options, "num_speakers": int(most)}
    )


def build_model(config: TrainConfig, ds: ConversationDataset) -> ERCModel:
    """A freshly initialised model (seeded by ``config.seed``) for ``ds``."""
    torch.manual_seed(config.seed)
    return model_from_config(config, ds.modalities, num_outputs(ds))


def describe(
    config: TrainConfig, ds: ConversationDataset, standardizer: Standardizer | None = None
) -> dict[str, Any]:
    """What a checkpoint needs to be rebuilt and used on new data."""
    return {
        "config": config.to_dict(),
        "normalization": standardizer.to_dict() if standardizer is not None else None,
        "pipeline": feature_pipeline(ds),
        "in_dims": ds.modalities,
        "label_names": ds.label_names,
        "task": ds.task,
        "num_outputs": num_outputs(ds),
    }


def feature_pipeline(ds: ConversationDataset) -> dict[str, dict[str, str]]:
    """How each modality of ``ds`` was built, in modality order (``{}`` for an unknown one).

    Read from the provenance keys ``pipeline.<modality>.<key>`` that
    ``lmam features text|audio`` write (encoder and version, openSMILE set,
    level and version).
    """
    out: dict[str, dict[str, str]] = {m: {} for m in ds.modalities}
    for key, value in ds.provenance.items():
        parts = key.split(".", 2)
        if len(parts) == 3 and parts[0] == "pipeline" and parts[1] in out:
            out[parts[1]][parts[2]] = str(value)
    return out
