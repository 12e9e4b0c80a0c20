"""The training engine: one loop for every dataset, backbone and fusion.

A run directory holds ``config.yaml``, ``metrics.json`` (per-epoch train /
valid / test metrics), ``summary.json`` (the selected epoch and its metrics),
``best/`` (safetensors weights + JSON description), ``predictions.csv`` and
``confusion.csv`` for the test split at the selected epoch, and ``state/``
(the last completed epoch) for ``--resume``.

Randomness is drawn per epoch from ``(seed, epoch)``, so a run resumed from
epoch ``k`` continues exactly as an uninterrupted run would.

Nothing silent: a step whose loss or gradient norm is not finite, or an epoch
that leaves a weight that is not finite, stops the run with a
:class:`DivergedError` naming the epoch and step, before anything of that epoch
is written. Any error after the run directory exists marks the run as failed
(``failed.json``, which ``lmam runs`` shows and ``predict`` / ``evaluate``
refuse). A run directory is created only after every check has passed, and
never over an existing one (``overwrite`` replaces an earlier run).
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import json
import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

from lmam.data import (
    Conversation,
    ConversationDataset,
    DataError,
    collate,
    create_dataset,
    list_datasets,
)
from lmam.data.normalize import Standardizer
from lmam.errors import LmamWarning, OptionError, RunError
from lmam.features import datasets as _text_datasets  # noqa: F401  (registers the *-text datasets)
from lmam.models import ERCModel, create_model
from lmam.models.registry import get_backbone
from lmam.options import closest, plural
from lmam.outputs import atomic_write_json, atomic_write_text
from lmam.train import checkpoint, distributed
from lmam.train.config import TrainConfig
from lmam.train.losses import class_weights, summed_loss
from lmam.train.metrics import METRICS, better, classification_metrics, regression_metrics

EVAL_BATCH = 64
FAILED = "failed.json"
"""The file that marks a run directory as failed (its error, and the epoch and step)."""
LOSS_GROWTH = 100.0
"""Warn when an epoch's training loss exceeds its first step's loss by this factor."""
TEST_SELECTION_LABEL = (
    "test (the epoch is picked by its TEST score, as in many published ERC repositories: "
    "optimistic, for comparison only)"
)


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
    for m in config.modality_dropout:
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
    model = create_model(
        config.backbone,
        in_dims=in_dims,
        num_classes=outputs,
        fusion=config.fusion,
        embed=config.embed,
        fusion_dim=config.fusion_dim,
        fusion_options=config.fusion_options,
        dropout=config.dropout,
        **config.model_options,
    )
    assert isinstance(model, ERCModel)
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


class DivergedError(RunError):
    """Training stopped because a loss, a gradient or a weight stopped being finite."""


class Trainer:
    """Train, select and record one run (see the module docstring).

    Args:
        config: the run's configuration.
        run_dir: the run directory (``None``: ``out_dir/name``).
        quiet: no progress bar.
        resume: continue ``run_dir`` from its last completed epoch.
        overwrite: replace an earlier run in the run directory (default: refuse
            to train into a directory that exists).

    Raises:
        RunError: the run directory exists (without ``overwrite`` or ``resume``).
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path | None = None,
        quiet: bool = False,
        resume: bool = False,
        overwrite: bool = False,
    ) -> None:
        config.check()
        self.config = config if resume else portable(config)
        self.quiet = quiet
        torch.set_num_threads(config.num_threads)
        self.device = resolve_device(config.device)
        self.dist = distributed.setup(self.device)
        if self.device.type == "cuda" and self.dist.active:
            self.device = torch.device("cuda", self.dist.local_rank)
        # everything that can be checked is checked before anything is written
        self.ds = load_dataset(self.config)
        self.config = with_speaker_count(self.config, self.ds)
        self.modalities = list(self.ds.modalities)
        self.standardizer: Standardizer | None = None
        if self.config.normalize == "standard":  # statistics of the training split only
            self.standardizer = Standardizer.fit(self.ds.train, self.modalities)
            self.ds = self.standardizer.apply_dataset(self.ds)
        self.task = self.ds.task
        self.select = config.select or self.ds.selection
        self.metric = resolve_metric(config, self.ds)
        self.loss = resolve_loss(config, self.ds)
        self.epochs = config.epochs or self.ds.epochs or 50
        if not self.ds.train:
            raise DataError(
                "has no training dialogues (its split column puts every dialogue elsewhere)",
                file=config.dataset,
            )
        if self.select in ("valid", "test") and not getattr(self.ds, self.select):
            raise OptionError(
                f"select {self.select!r} needs a {self.select} split, and dataset "
                f"{self.ds.name!r} has none; use select 'last' or give it one"
            )
        self.model = build_model(self.config, self.ds).to(self.device)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.weights: Tensor | None = None
        if self.loss == "weighted_ce":
            counts = torch.bincount(
                torch.from_numpy(np.concatenate([c.labels for c in self.ds.train])),
                minlength=self.ds.num_classes,
            )
            self.weights = class_weights(counts).to(self.device)
        self._warn_odd_settings()
        self.run_dir = self._run_dir(run_dir, resume, overwrite)
        self.history: list[dict[str, Any]] = []
        self.first_loss: float | None = None
        self.warned_growth = False
        self.epoch = 0
        self.step = 0
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.bad_epochs = 0
        self.start_epoch = 1
        if resume:
            self._restore()
        elif self.dist.is_main:
            if overwrite and self.run_dir.exists():
                shutil.rmtree(self.run_dir)
            self.run_dir.mkdir(parents=True)
            self.config.dump(self.run_dir / "config.yaml")

    @property
    def stopped_early(self) -> bool:
        """Whether the run ended by early stopping (no improvement for ``patience`` epochs)."""
        patience = self.config.patience
        return self.select == "valid" and patience is not None and self.bad_epochs >= patience

    # -- set-up -----------------------------------------------------------------
    def _warn_odd_settings(self) -> None:
        """Warn (:class:`LmamWarning`) about settings that work but are likely mistakes."""
        c = self.config
        cores = os.cpu_count() or 1
        if self.device.type == "cpu" and c.num_threads > cores:
            warn(
                f"threads {c.num_threads}: this machine has {cores} cores; more threads than "
                "cores slows training down badly (give --threads 1 or leave it out)"
            )
        if c.patience is not None and self.select != "valid":
            warn(
                f"patience {c.patience} has no effect with select {self.select!r} "
                "(early stopping watches the validation metric: select valid)"
            )
        rank = c.fusion_options.get("rank")
        widest = max(self.ds.modalities.values(), default=0)
        if isinstance(rank, int) and not isinstance(rank, bool) and rank > widest:
            warn(
                f"fusion option rank={rank} is above the widest input ({widest}): a low-rank "
                "factorisation that wide adds parameters without adding capacity"
            )

    def _run_dir(self, run_dir: Path | None, resume: bool, overwrite: bool) -> Path:
        if run_dir is not None:
            path = Path(run_dir)
        else:
            c = self.config
            stem = c.name or f"{Path(c.dataset).stem}-{c.backbone}-{c.fusion}-{c.embed}-s{c.seed}"
            path = Path(c.out_dir) / stem
        if resume:
            if (path / FAILED).is_file():
                raise RunError(f"{path}: {failure_line(path)}; it cannot be resumed")
            if not (path / "state" / "progress.json").exists():
                raise RunError(f"{path}: no completed epoch to resume from")
            return path
        if path.exists() and self.dist.is_main:
            if not overwrite:
                raise RunError(
                    f"{path} exists; continue that run with --resume {path}, replace it with "
                    "--overwrite, or give another --name"
                )
            if not path.is_dir() or not (
                (path / "config.yaml").is_file() or not any(path.iterdir())
            ):
                raise RunError(
                    f"{path} exists and is not a run directory (no config.yaml): --overwrite "
                    "replaces only a run; give another --name"
                )
        return path

    def _restore(self) -> None:
        state = self.run_dir / "state"
        with open(state / "progress.json") as f:
            progress = json.load(f)
        epoch = int(progress["epoch"])
        checkpoint.load_weights(self.model, state / f"epoch-{epoch:04d}")
        checkpoint.load_optimizer(self.optimizer, state / f"epoch-{epoch:04d}" / "optimizer.pt")
        self.history = progress["history"]
        self.best_epoch = progress["best_epoch"]
        self.best_value = progress["best_value"]
        self.bad_epochs = progress["bad_epochs"]
        self.start_epoch = epoch + 1
        if self.epochs < epoch:
            raise OptionError(
                f"epochs {self.epochs}: {self.run_dir} has already completed {plural(epoch, 'epoch')}; "
                "--epochs may only extend a run"
            )
        if self.stopped_early and self.epochs > epoch:
            raise RunError(
                f"{self.run_dir} stopped early at epoch {epoch} (no validation improvement "
                f"for {plural(self.config.patience or 0, 'epoch')}); it cannot be extended"
            )
        if self.dist.is_main:  # --epochs may have extended the run
            self.config.dump(self.run_dir / "config.yaml")

    # -- one epoch ------------------------------------------------------------------
    def _batch_loss(
        self, convs: list[Conversation], n_global: int, model: torch.nn.Module
    ) -> tuple[Tensor, Records, float]:
        batch = collate(convs, self.modalities).to(self.device)
        feats = {
            m: torch.nn.functional.dropout(x, self.config.modality_dropout[m])
            if self.config.modality_dropout.get(m)
            else x
            for m, x in batch.feats.items()
        }
        logits = model(feats, batch.mask, batch.speakers)
        keep = batch.mask
        total = summed_loss(
            self.loss,
            logits[keep],
            batch.labels[keep],
            self.weights,
            self.config.focal_gamma,
        )
        # DDP averages gradients over ranks: scale so that the average equals the
        # single-process gradient of the global batch. The main loss is a sum over
        # this rank's utterances; auxiliary losses are means over them.
        loss = total * self.dist.world / n_global
        share = int(keep.sum()) * self.dist.world / n_global
        for aux in self.model.aux_losses(batch.labels, batch.mask).values():
            loss = loss + aux * share
        return (
            loss,
            to_records(logits, batch.labels, batch.mask, batch.ids, self.task),
            total.item(),
        )

    def train_epoch(self, epoch: int, model: torch.nn.Module) -> tuple[float, Records]:
        """One pass over the training dialogues in the epoch's seeded order."""
        model.train()
        torch.manual_seed(self.config.seed * 1_000_003 + epoch)
        train = self.ds.train
        order = np.random.default_rng([self.config.seed, epoch]).permutation(len(train))
        bs = self.config.batch_size
        loss_sum, parts = 0.0, []
        for start in range(0, len(order), bs):
            global_batch = [train[i] for i in order[start : start + bs]]
            n_global = sum(len(c) for c in global_batch)
            mine = distributed.shard(global_batch, self.dist)
            self.optimizer.zero_grad(set_to_none=True)
            self.step = start // bs + 1
            mean = 0.0
            if mine:
                loss, rec, total = self._batch_loss(mine, n_global, model)
                parts.append(rec)
                loss_sum += total
                mean = total / max(int(sum(len(c) for c in mine)), 1)
            else:  # fewer dialogues than ranks: join the all-reduce with a zero loss
                loss, _, _ = self._batch_loss(global_batch[:1], n_global, model)
                loss = loss * 0.0
            loss.backward()  # (under DDP, every rank joins the all-reduce before any stops)
            clip = self.config.grad_clip if self.config.grad_clip is not None else math.inf
            norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip))
            if mine:
                self._check_loss(mean)
            if not math.isfinite(norm):
                raise self._diverged(f"the gradient norm is {norm}")
            self.optimizer.step()
        sums = distributed.gather(loss_sum, self.dist)
        n_utts = sum(len(c) for c in train)
        return sum(sums) / n_utts, Records.concat(
            distributed.gather(Records.concat(parts), self.dist)
        )

    def _check_loss(self, loss: float) -> None:
        """Stop on a loss that is not finite; remember the first step's loss."""
        if not math.isfinite(loss):
            raise self._diverged(f"the training loss is {loss}")
        if self.first_loss is None:
            self.first_loss = loss

    def _diverged(self, what: str) -> DivergedError:
        return DivergedError(
            f"training diverged at epoch {self.epoch}, step {self.step}: {what} "
            f"(lr {self.config.lr:g}); nothing of this epoch was kept. Try a lower --lr "
            "or --grad-clip"
        )

    def _check_epoch(self, epoch: int, loss: float) -> None:
        """After an epoch: every weight finite (else stop); warn once when the loss has grown."""
        for name, p in self.model.named_parameters():
            if not bool(torch.isfinite(p).all()):
                self.step = 0
                raise self._diverged(f"weight {name} is not finite after the epoch")
        first = self.first_loss
        if not self.warned_growth and first and loss > LOSS_GROWTH * first:
            self.warned_growth = True
            warn(
                f"epoch {epoch}: the training loss {loss:.4g} is {loss / first:.3g} times its "
                f"first value {first:.4g}; the learning rate ({self.config.lr:g}) may be too "
                "high (a lower --lr, or --grad-clip)"
            )

    @torch.no_grad()
    def predict(self, convs: list[Conversation]) -> Records:
        """Predictions for ``convs``, gathered from every rank, in dialogue order."""
        self.model.eval()
        mine = distributed.shard(list(range(len(convs))), self.dist)
        parts = []
        for start in range(0, len(mine), EVAL_BATCH):
            chunk = [convs[i] for i in mine[start : start + EVAL_BATCH]]
            batch = collate(chunk, self.modalities).to(self.device)
            logits = self.model(batch.feats, batch.mask, batch.speakers)
            parts.append(to_records(logits, batch.labels, batch.mask, batch.ids, self.task))
        rec = Records.concat(distributed.gather(Records.concat(parts), self.dist))
        position = {c.id: i for i, c in enumerate(convs)}
        order = sorted(
            range(len(rec.dialogue)), key=lambda k: (position[rec.dialogue[k]], rec.utterance[k])
        )
        return Records(
            [rec.dialogue[k] for k in order],
            [rec.utterance[k] for k in order],
            rec.labels[order],
            rec.preds[order],
            rec.scores[order],
        )

    def metrics(self, rec: Records) -> dict[str, Any]:
        if self.task == "classification":
            return classification_metrics(rec.labels, rec.preds, self.ds.label_names)
        return regression_metrics(rec.labels, rec.preds)

    # -- the run ------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Train to the end (or early stop), writing everything; returns the summary.

        Raises:
            DivergedError: a loss, gradient or weight stopped being finite.
            RunError: the run directory was removed while training.
            Exception: any other error; the run directory is marked as failed first.
        """
        try:
            return self._fit()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:
            if self.dist.is_main:
                self._mark_failed(err)
            raise

    def _mark_failed(self, err: BaseException) -> None:
        """Write ``failed.json`` (what went wrong, where) and drop the run's results."""
        if not self.run_dir.is_dir():
            return
        for name in ("summary.json",):
            (self.run_dir / name).unlink(missing_ok=True)
        atomic_write_json(
            self.run_dir / FAILED,
            {
                "error": " ".join((str(err) or type(err).__name__).split()),
                "type": type(err).__name__,
                "epoch": self.epoch,
                "step": self.step,
                "epochs_completed": len(self.history),
            },
        )

    def _fit(self) -> dict[str, Any]:
        model: torch.nn.Module = self.model
        if self.dist.active:
            model = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        show = self.dist.is_main and not self.quiet
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            disable=not show,
            console=Console(stderr=True, emoji=False, highlight=False),
        )
        board = self._board() if self.dist.is_main else None
        with progress:
            bar = progress.add_task(
                escape(self.run_dir.name),
                total=self.epochs,
                completed=self.start_epoch - 1,
                info="",
            )
            for epoch in range(self.start_epoch, self.epochs + 1):
                self.epoch, self.step = epoch, 0
                start = time.perf_counter()
                loss, train_rec = self.train_epoch(epoch, model)
                seconds = time.perf_counter() - start
                self._check_epoch(epoch, loss)
                valid_rec, test_rec = self.predict(self.ds.valid), self.predict(self.ds.test)
                stop = False
                if self.dist.is_main:
                    if not self.run_dir.is_dir():
                        raise RunError(
                            f"{self.run_dir}: the run directory was removed during training "
                            f"(after epoch {epoch}); the run stopped"
                        )
                    entry = {
                        "epoch": epoch,
                        "loss": loss,
                        "seconds": seconds,
                        "threads": torch.get_num_threads(),
                        "processes": self.dist.world,
                        "train": self.metrics(train_rec),
                        "valid": self.metrics(valid_rec) if len(valid_rec.dialogue) else None,
                        "test": self.metrics(test_rec) if len(test_rec.dialogue) else None,
                    }
                    self.history.append(entry)
                    stop = self._select(epoch, entry, test_rec)
                    self._save_state(epoch)
                    if board is not None:
                        self._log_board(board, entry)
                    progress.update(bar, advance=1, info=self._info(entry))
                if distributed.broadcast(stop, self.dist):
                    break
        if board is not None:
            board.close()
        summary = self._summary() if self.dist.is_main else {}
        if self.dist.active:
            # DDP's reducer holds gloo work objects; freed at interpreter exit (when a
            # reference cycle keeps it that long) they abort the process (SIGABRT)
            del model
            gc.collect()
        distributed.teardown(self.dist)
        return summary

    def _board(self) -> Any:
        """A TensorBoard writer in ``tensorboard/`` of the run (``None`` unless asked for)."""
        if not self.config.tensorboard:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError(
                "tensorboard: writing TensorBoard logs needs the tensorboard package "
                "(pip install tensorboard, or the extra lmam[tensorboard])"
            ) from None
        return SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    def _log_board(self, board: Any, entry: dict[str, Any]) -> None:
        """One epoch's loss, learning rate and scalar metrics of every split."""
        epoch = int(entry["epoch"])
        board.add_scalar("loss/train", entry["loss"], epoch)
        board.add_scalar("lr", self.optimizer.param_groups[0]["lr"], epoch)
        for split in ("train", "valid", "test"):
            for key, value in (entry[split] or {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    board.add_scalar(f"{key}/{split}", value, epoch)
        board.flush()

    def _info(self, entry: dict[str, Any]) -> str:
        m = self.metric
        parts = [f"loss {entry['loss']:.4f}"]
        for split in ("valid", "test"):
            if entry[split] is not None:
                parts.append(f"{split} {m} {entry[split][m]:.4f}")
        return "  ".join(parts)

    def _select(self, epoch: int, entry: dict[str, Any], test_rec: Records) -> bool:
        """Update the selected epoch; returns whether to stop early."""
        split = {"valid": "valid", "test": "test", "last": None}[self.select]
        if split is None:
            improved = True
        else:
            value = float(entry[split][self.metric])
            improved = better(self.metric, value, self.best_value)
            if improved:
                self.best_value = value
        if improved:
            self.best_epoch = epoch
            self.bad_epochs = 0
            checkpoint.save_model(
                self.model,
                self.run_dir / "best",
                describe(self.config, self.ds, self.standardizer) | {"epoch": epoch},
            )
            self._write_predictions(test_rec)
        else:
            self.bad_epochs += 1
        return self.stopped_early

    def _write_predictions(self, rec: Records) -> None:
        buf = io.StringIO()
        w = csv.writer(buf)
        if self.task == "classification":
            w.writerow(
                [
                    "dialogue",
                    "utterance",
                    "label",
                    "prediction",
                    *[f"p_{n}" for n in self.ds.label_names],
                ]
            )
            for k in range(len(rec.dialogue)):
                w.writerow(
                    [
                        rec.dialogue[k],
                        rec.utterance[k],
                        self.ds.label_names[int(rec.labels[k])],
                        self.ds.label_names[int(rec.preds[k])],
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
        atomic_write_text(self.run_dir / "predictions.csv", buf.getvalue())
        if self.task == "classification" and len(rec.dialogue):
            cm = classification_metrics(rec.labels, rec.preds, self.ds.label_names)[
                "confusion_matrix"
            ]
            lines = [",".join(["label \\ prediction", *self.ds.label_names])]
            lines += [",".join([n, *map(str, row)]) for n, row in zip(self.ds.label_names, cm)]
            atomic_write_text(self.run_dir / "confusion.csv", "\n".join(lines) + "\n")

    def _save_state(self, epoch: int) -> None:
        state = self.run_dir / "state"
        here = state / f"epoch-{epoch:04d}"
        checkpoint.save_model(self.model, here, {"epoch": epoch})
        checkpoint.save_optimizer(self.optimizer, here / "optimizer.pt")
        atomic_write_json(
            self.run_dir / "metrics.json",
            {"selection": self.selection_label(), "metric": self.metric, "history": self.history},
        )
        atomic_write_json(
            state / "progress.json",
            {
                "epoch": epoch,
                "history": self.history,
                "best_epoch": self.best_epoch,
                "best_value": self.best_value,
                "bad_epochs": self.bad_epochs,
            },
        )
        for old in state.glob("epoch-*"):
            if old != here:
                for f in old.iterdir():
                    f.unlink()
                old.rmdir()

    def selection_label(self) -> str:
        if self.select == "test":
            return TEST_SELECTION_LABEL
        if self.select == "last":
            return f"last (fixed {plural(self.epochs, 'epoch')}, no model selection)"
        return f"valid (the epoch with the best validation {self.metric})"

    def _summary(self) -> dict[str, Any]:
        best = next(h for h in self.history if h["epoch"] == self.best_epoch)
        seconds = [h["seconds"] for h in self.history]
        summary = {
            "run_dir": str(self.run_dir),
            "dataset": self.ds.name,
            "selection": self.selection_label(),
            "metric": self.metric,
            "epochs_run": len(self.history),
            "best_epoch": self.best_epoch,
            "valid": best["valid"],
            "test": best["test"],
            "parameters": sum(p.numel() for p in self.model.parameters() if p.requires_grad),
            "seconds_per_epoch": float(np.mean(seconds)),
            "loss": self.loss,
            "threads": sorted({int(h["threads"]) for h in self.history if "threads" in h}),
            "processes": self.dist.world,
            "warning": self.ds.warning,
        }
        atomic_write_json(self.run_dir / "summary.json", summary)
        return summary


def _rounded(value: np.ndarray) -> Any:
    """A regression target or prediction (a scalar or ``(K,)``) rounded to 6 decimals, as
    plain floats (float32 widened first, so 2.4 is written 2.4, not 2.4000000953674316)."""
    return np.round(np.asarray(value, dtype=np.float64), 6).tolist()


def warn(message: str) -> None:
    """A :class:`LmamWarning` (the command line shows it as one ``warning:`` line)."""
    warnings.warn(message, LmamWarning, stacklevel=3)


def failure_line(run_dir: Path) -> str:
    """``"failed at epoch E: <error>"`` from a failed run's ``failed.json``."""
    try:
        data = json.loads((Path(run_dir) / FAILED).read_text())
        if data["type"] == DivergedError.__name__:  # its message says where
            return f"failed: {data['error']}"
        return f"failed at epoch {data['epoch']}: {data['error']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"failed (its {FAILED} cannot be read)"


def train(config: TrainConfig, quiet: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Train one run from a config; returns its summary.

    Example::

        from lmam.train import TrainConfig, train

        summary = train(TrainConfig(dataset="mosi", fusion="lmam", embed="early_residual"))
        print(summary["test"]["accuracy"], summary["run_dir"])

    Raises:
        OptionError: a bad setting; RunError: the run directory exists (give
            ``overwrite=True`` or another ``name``); DivergedError: the training diverged.
    """
    return Trainer(config, quiet=quiet, overwrite=overwrite).fit()


def resume(run_dir: Path, quiet: bool = False) -> dict[str, Any]:
    """Continue an interrupted run from its last completed epoch."""
    config = TrainConfig.load(Path(run_dir) / "config.yaml")
    return Trainer(config, run_dir=Path(run_dir), quiet=quiet, resume=True).fit()
