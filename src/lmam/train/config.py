"""The training configuration, dumped as YAML beside every run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lmam.train.io import atomic_write_text

LOSSES = ("ce", "weighted_ce", "focal", "mse")
SELECTIONS = ("valid", "last", "test")


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    Attributes:
        dataset: a registered dataset name, or a path to data (auto-detected).
        data_path: the files of a registered dataset that needs them.
        dataset_options: options of the dataset loader.
        modalities: which modalities, in order (``None``: all of the dataset's).
        backbone: a registered model name.
        model_options: options of the model (e.g. ``hidden``, ``attention``).
        fusion: a registered fusion name.
        fusion_options: options of the fusion (e.g. ``rank``).
        embed: ``early``, ``early_residual`` or ``late``.
        fusion_dim: width of the fusion output (``None``: the model's default).
        epochs: number of epochs (``None``: the dataset's recommendation, else 50).
        batch_size: dialogues per (global) batch.
        lr, weight_decay: Adam's.
        dropout: dropout of the model.
        seed: seed of everything random.
        loss: ``ce``, ``weighted_ce``, ``focal`` (classification) or ``mse`` (regression).
        focal_gamma: the focal loss's gamma.
        patience: stop after this many epochs without validation improvement
            (``select="valid"`` only; ``None``: never).
        select: ``valid``, ``last`` or ``test`` (``None``: the dataset's
            recommendation). ``test`` picks the epoch by its test score, as
            many published ERC repositories do; it exists for comparison only
            and is labelled as such everywhere.
        metric: the selection metric (``None``: ``weighted_f1``; ``mae`` for regression).
        threads: torch CPU threads (``None``: torch's default).
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        out_dir: where run directories are created.
        name: the run directory's name (``None``: derived from the config).
    """

    dataset: str = "mosi"
    data_path: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    modalities: list[str] | None = None
    backbone: str = "bclstm"
    model_options: dict[str, Any] = field(default_factory=dict)
    fusion: str = "concat"
    fusion_options: dict[str, Any] = field(default_factory=dict)
    embed: str = "early"
    fusion_dim: int | None = None
    epochs: int | None = None
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-5
    dropout: float = 0.2
    seed: int = 0
    loss: str = "ce"
    focal_gamma: float = 2.0
    patience: int | None = None
    select: str | None = None
    metric: str | None = None
    threads: int | None = None
    device: str = "cpu"
    out_dir: str = "runs"
    name: str | None = None

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.select is not None and self.select not in SELECTIONS:
            raise ValueError(f"select must be one of {SELECTIONS}, got {self.select!r}")
        for name in ("batch_size",):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.epochs is not None and self.epochs <= 0:
            raise ValueError(f"epochs must be positive, got {self.epochs}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def dump(self, path: Path) -> None:
        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        with open(path) as f:
            data = yaml.safe_load(f)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a training configuration")
        return cls.from_dict(data)
