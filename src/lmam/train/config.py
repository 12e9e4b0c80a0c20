"""The training configuration, dumped as YAML beside every run."""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lmam.data.batching import BATCHINGS
from lmam.data.normalize import NORMALIZATIONS
from lmam.fusion.registry import FUSIONS
from lmam.models import EMBEDS
from lmam.models.erc_model import NO_FUSION
from lmam.models.registry import MODELS
from lmam.options import OptionError, check_value, closest, load_yaml
from lmam.outputs import atomic_write_text
from lmam.train.precision import PRECISIONS

LOSSES = ("ce", "weighted_ce", "focal", "mse")
SELECTIONS = ("valid", "last", "test")
DEVICE = re.compile(r"^(cpu|auto|cuda(:\d+)?|mps)$")
DEFAULT_THREADS = 1
"""torch threads per run when ``threads`` is not given (see ``TrainConfig``)."""
LEGACY_DEFAULTS: dict[str, Any] = {"batching": "random"}
"""Settings whose default changed, with the value every configuration had before: a
configuration read from data without the key (written before it existed) keeps it.
``batching``'s default became ``bucketed`` (faster, validation within the seed spread:
the benchmarks page); every earlier run was trained with random batches."""
MODEL_ARGUMENTS = (
    "in_dims",
    "num_classes",
    "fusion",
    "embed",
    "fusion_dim",
    "fusion_options",
    "dropout",
)
"""Model parameters set by their own config fields, not through ``model_options``."""


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    Attributes:
        dataset: a registered dataset name, or a path to data (auto-detected).
        data_path: the files of a registered dataset that needs them.
        dataset_options: options of the dataset loader.
        modalities: which modalities, in order (``None``: all of the dataset's).
        normalize: ``"standard"`` (per-modality standardisation with statistics
            of the training split, stored with the run and applied by
            ``evaluate`` and ``predict``) or ``"none"``.
        backbone: a registered model name.
        model_options: options of the model (e.g. ``hidden``, ``attention``).
        fusion: a registered fusion name, or ``"none"`` (the backbone's own fusion only).
        fusion_options: options of the fusion (e.g. ``rank``).
        embed: ``early``, ``early_residual``, ``late``, ``parallel`` or ``late_text``
            (:data:`lmam.models.EMBEDS`).
        fusion_dim: width of the fusion output (``None``: the model's default).
        epochs: number of epochs (``None``: the dataset's recommendation, else 50).
        batch_size: dialogues per (global) batch.
        batching: ``bucketed`` (dialogues of similar length together, the batch order
            shuffled by the seed; less padding: :mod:`lmam.data.batching`) or ``random``
            (the epoch's seeded permutation cut into batches). A configuration read from
            data without this key (a ``config.yaml``, a run record, a recipe) is
            ``random``: :data:`LEGACY_DEFAULTS`.
        lr, weight_decay: Adam's.
        dropout: dropout of the model (``None``: the backbone's own default, its
            reference's: ``lmam models`` lists each and where it comes from).
        modality_dropout: ``{modality: p}``, dropout on that modality's input
            features while training (after normalisation), e.g. ``{"audio": 0.3}``.
        seed: seed of everything random.
        loss: ``ce``, ``weighted_ce``, ``focal`` (classification) or ``mse``
            (regression); ``None``: ``ce`` for classification, ``mse`` for regression.
        focal_gamma: the focal loss's gamma.
        grad_clip: clip the global gradient norm to this value before each step
            (``None``: no clipping). Whatever it is, a step whose loss or gradient is
            not finite stops the run (:class:`lmam.train.engine.DivergedError`).
        patience: stop after this many epochs without validation improvement
            (``select="valid"`` only; ``None``: never).
        select: ``valid``, ``last`` or ``test`` (``None``: the dataset's
            recommendation). ``test`` picks the epoch by its test score, as
            many published ERC repositories do; it exists for comparison only
            and is labelled as such everywhere.
        metric: the selection metric (``None``: ``weighted_f1``; ``mae`` for regression).
        threads: torch CPU (intra-op) threads; ``None``: ``DEFAULT_THREADS`` (1).
            lmam's models are small: on 2 cores one thread trains bc-LSTM as
            fast as two when the machine is idle and several times faster when
            other processes are busy (``python -m bench.threads``). The thread count
            can change the last bits of a float sum, and so a run's results.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        precision: ``32`` (float32), ``bf16`` or ``fp16``: the forward pass and the
            loss run under autocast at that precision (weights stay float32; ``fp16``
            scales the loss against underflow). Reduced precision pays on a GPU; on
            a CPU only ``bf16`` is supported.
        compile: compile the model with ``torch.compile`` for training and prediction
            (the first batches of each shape are slower while it compiles).
        out_dir: where run directories are created.
        name: the run directory's name inside ``out_dir`` (``None``: derived from the
            config); one folder name, never a path.
        tensorboard: also write TensorBoard logs (loss, metrics, learning rate per
            epoch) to ``tensorboard/`` in the run directory (extra ``tensorboard``).
    """

    dataset: str = "mosi"
    data_path: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    modalities: list[str] | None = None
    normalize: str = "standard"
    backbone: str = "bclstm"
    model_options: dict[str, Any] = field(default_factory=dict)
    fusion: str = "concat"
    fusion_options: dict[str, Any] = field(default_factory=dict)
    embed: str = "early"
    fusion_dim: int | None = None
    epochs: int | None = None
    batch_size: int = 16
    batching: str = "bucketed"
    lr: float = 1e-3
    weight_decay: float = 1e-5
    dropout: float | None = None
    modality_dropout: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    loss: str | None = None
    focal_gamma: float = 2.0
    grad_clip: float | None = None
    patience: int | None = None
    select: str | None = None
    metric: str | None = None
    threads: int | None = None
    device: str = "cpu"
    precision: str = "32"
    compile: bool = False
    out_dir: str = "runs"
    name: str | None = None
    tensorboard: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.precision, int) and not isinstance(self.precision, bool):
            self.precision = str(self.precision)  # YAML's `precision: 32`
        self.check()

    def check(self) -> None:
        """Refuse a bad value before anything runs.

        Raises:
            OptionError: naming the field, the value and what it takes.
        """
        hints = typing.get_type_hints(TrainConfig)
        for f in dataclasses.fields(self):
            check_value("", f.name, getattr(self, f.name), hints[f.name])
        _choice("loss", self.loss, LOSSES, optional=True)
        _choice("normalize", self.normalize, NORMALIZATIONS)
        _choice("select", self.select, SELECTIONS, optional=True)
        _choice("batching", self.batching, BATCHINGS)
        _choice("precision", self.precision, PRECISIONS)
        _choice("embed", self.embed, EMBEDS)
        MODELS.get(self.backbone)
        if self.fusion != NO_FUSION:
            FUSIONS.get(self.fusion)
        for name in ("batch_size", "epochs", "threads", "patience", "fusion_dim"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise OptionError(f"{name} must be a positive integer, got {value}")
        if self.seed < 0:
            raise OptionError(f"seed must be a non-negative integer, got {self.seed}")
        if not 0 < self.lr < math.inf:
            raise OptionError(f"lr must be a positive finite number, got {self.lr}")
        if self.grad_clip is not None and not 0 < self.grad_clip < math.inf:
            raise OptionError(
                f"grad_clip must be a positive finite number (a gradient norm), got {self.grad_clip}"
            )
        if not 0 <= self.weight_decay < math.inf:
            raise OptionError(f"weight_decay must be a finite number >= 0, got {self.weight_decay}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise OptionError(f"dropout must be in [0, 1), got {self.dropout}")
        for m, p in self.modality_dropout.items():
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
                raise OptionError(f"modality_dropout of {m!r} must be in [0, 1), got {p!r}")
        if not self.focal_gamma >= 0:
            raise OptionError(f"focal_gamma must be >= 0, got {self.focal_gamma}")
        if not DEVICE.match(self.device):
            raise OptionError(f"device must be cpu, cuda, cuda:N, mps or auto, got {self.device!r}")
        clash = [k for k in self.model_options if k in MODEL_ARGUMENTS]
        if clash:
            raise OptionError(
                f"model option {clash[0]!r} is set by its own setting "
                f"(--{clash[0].replace('_', '-')}), not by a model option"
            )
        if self.modalities is not None:
            if not self.modalities or not all(str(m).strip() for m in self.modalities):
                raise OptionError(
                    f"modalities must name at least one modality, none empty, got {self.modalities}"
                )
            twice = [m for i, m in enumerate(self.modalities) if m in self.modalities[:i]]
            if twice:
                raise OptionError(f"modalities names {twice[0]!r} twice: {self.modalities}")
        if self.name is not None:
            check_run_name(self.name)

    @property
    def num_threads(self) -> int:
        """The torch thread count this config asks for."""
        return self.threads or DEFAULT_THREADS

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def dump(self, path: Path) -> None:
        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """A config from plain data (as in ``config.yaml``); a key it lacks takes
        :data:`LEGACY_DEFAULTS`' value where that has one, else the field's default.

        Raises:
            OptionError: an unknown key (naming the closest) or a bad value.
        """
        known = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in known:
                raise OptionError(
                    f"unknown config key {key!r}{closest(str(key), known)}; "
                    f"known: {', '.join(known)}"
                )
        return cls(**{**LEGACY_DEFAULTS, **data})

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        """Read a ``config.yaml``; every problem is an ``OptionError`` naming the file.

        Numbers in scientific notation (``lr: 1e-3``) are read as numbers.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OptionError(f"{path}: no such config file") from None
        except IsADirectoryError:
            raise OptionError(f"{path}: a directory, not a config file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise OptionError(f"{path}: cannot read this config file ({e})") from None
        try:
            data = load_yaml(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(e, "problem", None) or type(e).__name__
            raise OptionError(f"{path}: not valid YAML{where}: {problem}") from None
        if not isinstance(data, dict):
            raise OptionError(f"{path}: not a training configuration (a YAML mapping of settings)")
        try:
            return cls.from_dict(data)
        except OptionError as e:
            raise OptionError(f"{path}: {e}") from None


def check_run_name(name: str) -> None:
    """Refuse a run name that is not one plain folder name (it could leave ``out_dir``)."""
    if not name or name in (".", "..") or Path(name).name != name or "/" in name or "\\" in name:
        raise OptionError(
            f"name must be one folder name inside --out-dir (no '/', '..' or '.'), got {name!r}"
        )


def _choice(name: str, value: str | None, allowed: tuple[str, ...], optional: bool = False) -> None:
    if value is None and optional:
        return
    if value not in allowed:
        raise OptionError(
            f"{name} must be one of {', '.join(allowed)}, got {value!r}{closest(str(value), list(allowed))}"
        )
