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

import gc
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
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
    DataError,
    collate,
)
from lmam.data.batching import epoch_batches, length_chunks
from lmam.data.normalize import Standardizer
from lmam.errors import LmamWarning, OptionError, RunError
from lmam.features import datasets as _text_datasets  # noqa: F401  (registers the *-text datasets)
from lmam.options import plural
from lmam.outputs import atomic_write_json
from lmam.train import checkpoint, distributed, precision
from lmam.train.build import (
    build_model,
    describe,
    load_dataset,
    portable,
    resolve_device,
    resolve_loss,
    resolve_metric,
    with_speaker_count,
)
from lmam.train.config import TrainConfig
from lmam.train.losses import class_weights, summed_loss
from lmam.train.metrics import better, classification_metrics, regression_metrics
from lmam.train.predictions import EVAL_BATCH, Records, to_records, write_records

FAILED = "failed.json"
"""The file that marks a run directory as failed (its error, and the epoch and step)."""
LOSS_GROWTH = 100.0
"""Warn when an epoch's training loss exceeds its first step's loss by this factor."""
TEST_SELECTION_LABEL = (
    "test (the epoch is picked by its TEST score, as in many published ERC repositories: "
    "optimistic, for comparison only)"
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
        use_test: evaluate the test split every epoch (``False``: the test
            split is dropped as soon as the data are loaded and never
            evaluated, as in a tuning trial; the run records no test metrics).
        on_epoch: called after every epoch with the epoch and its history entry;
            returning ``True`` stops the run there, like early stopping (a
            tuner's pruning).

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
        use_test: bool = True,
        on_epoch: Callable[[int, dict[str, Any]], bool] | None = None,
    ) -> None:
        config.check()
        self.config = config if resume else portable(config)
        self.quiet = quiet
        torch.set_num_threads(config.num_threads)
        self.device = resolve_device(config.device)
        precision.check_precision(config.precision, self.device)
        self.dist = distributed.setup(self.device)
        if self.device.type == "cuda" and self.dist.active:
            self.device = torch.device("cuda", self.dist.local_rank)
        # everything that can be checked is checked before anything is written
        self.ds = load_dataset(self.config)
        if not use_test:
            self.ds = replace(self.ds, splits={**self.ds.splits, "test": []})
        self.on_epoch = on_epoch
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
        self.scaler = precision.grad_scaler(config.precision, self.device)
        self.forward = precision.compiled(self.model, config.compile)
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
        scaler = state / f"epoch-{epoch:04d}" / "scaler.json"
        if self.scaler is not None and scaler.exists():
            self.scaler.load_state_dict(json.loads(scaler.read_text()))
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
        with precision.autocast(self.config.precision, self.device):
            logits = model(feats, batch.mask, batch.speakers)
        logits = logits.float()
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
        batches = epoch_batches(
            [len(c) for c in train],
            self.config.batch_size,
            self.config.seed,
            epoch,
            self.config.batching,
        )
        loss_sum, parts = 0.0, []
        for step, indices in enumerate(batches, 1):
            global_batch = [train[i] for i in indices]
            n_global = sum(len(c) for c in global_batch)
            mine = distributed.shard(global_batch, self.dist)
            self.optimizer.zero_grad(set_to_none=True)
            self.step = step
            mean = 0.0
            if mine:
                loss, rec, total = self._batch_loss(mine, n_global, model)
                parts.append(rec)
                loss_sum += total
                mean = total / max(int(sum(len(c) for c in mine)), 1)
            else:  # fewer dialogues than ranks: join the all-reduce with a zero loss
                loss, _, _ = self._batch_loss(global_batch[:1], n_global, model)
                loss = loss * 0.0
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()  # (under DDP, every rank joins the all-reduce before any stops)
            clip = self.config.grad_clip if self.config.grad_clip is not None else math.inf
            norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip))
            if mine:
                self._check_loss(mean)
            if self.scaler is not None:  # an overflowed fp16 step is skipped, the scale shrinks
                self.scaler.step(self.optimizer)
                self.scaler.update()
                continue
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
        # longest first, in chunks of similar length (less padding; the order of the
        # records is restored below)
        for chunk_at in length_chunks([len(convs[i]) for i in mine], EVAL_BATCH):
            chunk = [convs[mine[k]] for k in chunk_at]
            batch = collate(chunk, self.modalities).to(self.device)
            with precision.autocast(self.config.precision, self.device):
                logits = self.forward(batch.feats, batch.mask, batch.speakers)
            parts.append(to_records(logits.float(), batch.labels, batch.mask, batch.ids, self.task))
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
        (self.run_dir / "summary.json").unlink(missing_ok=True)
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
        model: torch.nn.Module = self.forward
        if self.dist.active:
            # static word vectors are filled from the same file on every process: not synced
            self.model._ddp_params_and_buffers_to_ignore = [  # type: ignore[assignment]
                name for name, _ in self.model.named_buffers() if name.endswith("word_table")
            ]
            model = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
            model = precision.compiled(model, self.config.compile)
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
                    if self.on_epoch is not None and self.on_epoch(epoch, entry):
                        stop = True
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
            write_records(test_rec, self.run_dir, self.task, self.ds.label_names)
        else:
            self.bad_epochs += 1
        return self.stopped_early

    def _save_state(self, epoch: int) -> None:
        state = self.run_dir / "state"
        here = state / f"epoch-{epoch:04d}"
        checkpoint.save_model(self.model, here, {"epoch": epoch})
        checkpoint.save_optimizer(self.optimizer, here / "optimizer.pt")
        if self.scaler is not None:  # fp16's loss scale, so a resumed run continues exactly
            atomic_write_json(here / "scaler.json", self.scaler.state_dict())
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
