"""Training, selection and evaluation of DHCN / DHCN* (the engine's conventions).

A run directory holds ``config.yaml``, ``metrics.json`` (per-epoch loss,
validation and test metrics), ``summary.json``, ``best/`` (the epoch with the
best *validation* P@20: safetensors weights + JSON) and ``state/`` (the last
completed epoch: weights, optimizer, progress; and, every
``checkpoint_batches`` batches within an epoch, a mid-epoch checkpoint with
the random state and the batches done) so that ``--resume`` continues a run
across sessions even when one epoch takes longer than a session. The batch
order is drawn per epoch from ``(seed, epoch)``, and a mid-epoch checkpoint
keeps torch's random state: a resumed run continues as an uninterrupted one
would.
The test metrics of the epoch with the best *test* P@20 (the published
protocol) are recorded too, labelled as such, for comparison only.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save_file

from lmam.errors import OptionError, RunError
from lmam.outputs import atomic_write, atomic_write_json, atomic_write_text
from lmam.tasks.session.data import Cases, SessionData, load_sessions
from lmam.tasks.session.graph import Hypergraph
from lmam.tasks.session.metrics import RankingMeter
from lmam.tasks.session.model import DHCN
from lmam.train import checkpoint
from lmam.train.build import resolve_device

PROGRESS = "progress.json"
"""In ``state/``: the last completed epoch (its folder ``epoch-NNNN``) and the history."""
PARTIAL = "partial.json"
"""In ``state/``: the last mid-epoch checkpoint (its folder) and the epoch's running loss."""
SELECT_METRIC = "P@20"
TEST_SELECTION_LABEL = (
    "test at the epoch with the best TEST P@20 (the published protocol; optimistic)"
)


@dataclass
class SessionConfig:
    """Settings of one DHCN run (defaults: the DHCN paper's, beta our choice)."""

    data_dir: str
    out_dir: str = "runs/session"
    name: str | None = None
    lmam: bool = False
    seed: int = 0
    epochs: int = 10
    batch_size: int = 100
    lr: float = 0.001
    weight_decay: float = 1e-5
    dim: int = 100
    layers: int = 3
    beta: float = 0.01
    lmam_rank: int = 45
    max_len: int = 200
    valid_fraction: float = 0.1
    max_cases: int | None = None
    threads: int = 1
    eval_batch: int = 500
    device: str = "cpu"
    checkpoint_batches: int = 500

    def check(self) -> None:
        """Raises OptionError for a value out of range, naming the option."""
        positive = (
            "epochs", "batch_size", "dim", "max_len", "threads", "eval_batch", "lmam_rank",
            "checkpoint_batches",
        )  # fmt: skip
        for key in positive:
            if getattr(self, key) < 1:
                raise OptionError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.layers < 0:
            raise OptionError(f"layers must be >= 0, got {self.layers}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise OptionError(f"valid_fraction must be in (0, 1), got {self.valid_fraction}")
        if self.max_cases is not None and self.max_cases < 1:
            raise OptionError(f"max_cases must be >= 1, got {self.max_cases}")
        if self.lr <= 0:
            raise OptionError(f"lr must be > 0, got {self.lr}")
        resolve_device(self.device)

    def dump(self, path: Path) -> None:
        atomic_write_text(path, yaml.safe_dump(dataclasses.asdict(self), sort_keys=False))

    @classmethod
    def load(cls, path: Path) -> SessionConfig:
        """Read a run's ``config.yaml``. Raises RunError if absent or unreadable."""
        try:
            data = yaml.safe_load(path.read_text())
            return cls(**data)
        except FileNotFoundError:
            raise RunError(f"{path}: no such file; is this a session run directory?") from None
        except (TypeError, yaml.YAMLError) as e:
            raise RunError(f"{path}: not a session run config ({e})") from None


def batches(
    cases: Cases, order: np.ndarray, size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Padded batches in ``order``: items ``(B, T)`` (left-aligned, 0-padded),
    mask ``(B, T)``, targets ``(B,)``."""
    for start in range(0, len(order), size):
        pick = order[start : start + size]
        seqs = [cases.prefixes[i] for i in pick]
        width = max(len(s) for s in seqs)
        items = torch.zeros(len(seqs), width, dtype=torch.long)
        for r, s in enumerate(seqs):
            items[r, : len(s)] = torch.tensor(s)
        targets = torch.tensor([cases.targets[i] for i in pick])
        yield items, items > 0, targets


def build_model(config: SessionConfig, data: SessionData) -> DHCN:
    """A freshly initialised DHCN (seeded by ``config.seed``, initialised on the CPU),
    with its hypergraph, on ``config.device``."""
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)
    graph = Hypergraph(data.train_sessions, data.num_items).to(device)
    model = DHCN(
        data.num_items,
        graph,
        dim=config.dim,
        layers=config.layers,
        beta=config.beta,
        max_len=config.max_len,
        lmam=config.lmam,
        lmam_rank=config.lmam_rank,
    )
    return model.to(device)


@torch.no_grad()
def evaluate(model: DHCN, cases: Cases, batch_size: int = 500) -> dict[str, float]:
    """P@5/10/20 and MRR@5/10/20 (percent) of ``model`` on ``cases``."""
    model.eval()
    table = model.item_embeddings()
    meter = RankingMeter()
    device = table.device
    for items, mask, targets in batches(cases, np.arange(len(cases)), batch_size):
        session = model.readout(table, items.to(device), mask.to(device))
        meter.update(session @ table.T, targets.to(device))
    return meter.result()


class SessionTrainer:
    """Train, select and record one DHCN run (see the module docstring).

    Args:
        config: the run's settings.
        run_dir: the run directory (``None``: ``out_dir/name``, made unique).
        resume: continue ``run_dir`` from its last checkpoint (a completed epoch or
            a mid-epoch one).
        data: already loaded data (``None``: read ``config.data_dir``).
        log: print one line per epoch.
    """

    def __init__(
        self,
        config: SessionConfig,
        run_dir: Path | None = None,
        resume: bool = False,
        data: SessionData | None = None,
        log: bool = True,
    ) -> None:
        config.check()
        self.config = config
        self.log = log
        torch.set_num_threads(config.threads)
        self.data = data or load_sessions(
            config.data_dir,
            valid_fraction=config.valid_fraction,
            split_seed=config.seed,
            max_cases=config.max_cases,
            sample_seed=config.seed,
        )
        self.model = build_model(config, self.data)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.history: list[dict[str, Any]] = []
        self.best_epoch: int | None = None
        self.start_epoch = 1
        self.partial: dict[str, Any] | None = None
        if resume:
            if run_dir is None:
                raise RunError("resume: no run directory given")
            state = Path(run_dir) / "state"
            if not any((state / f).exists() for f in (PROGRESS, PARTIAL)):
                raise RunError(f"{run_dir}: no checkpoint to resume from (no {state / PROGRESS})")
            self.run_dir = Path(run_dir)
            self._restore()
        else:
            stem = config.name or f"dhcn{'-lmam' if config.lmam else ''}-s{config.seed}"
            self.run_dir = _unique(Path(run_dir) if run_dir else Path(config.out_dir) / stem)
            self.run_dir.mkdir(parents=True)
        config.dump(self.run_dir / "config.yaml")

    def _restore(self) -> None:
        state = self.run_dir / "state"
        epoch = 0
        if (state / PROGRESS).exists():
            progress = json.loads((state / PROGRESS).read_text())
            epoch = int(progress["epoch"])
            here = state / f"epoch-{epoch:04d}"
            checkpoint.load_weights(self.model, here)
            checkpoint.load_optimizer(self.optimizer, here / "optimizer.pt")
            self.history = progress["history"]
            self.best_epoch = progress["best_epoch"]
        self.start_epoch = epoch + 1
        if (state / PARTIAL).exists():
            partial = json.loads((state / PARTIAL).read_text())
            if int(partial["epoch"]) == self.start_epoch:  # else stale: that epoch completed
                here = state / partial["directory"]
                checkpoint.load_weights(self.model, here)
                checkpoint.load_optimizer(self.optimizer, here / "optimizer.pt")
                partial["rng"] = load_file(str(here / "rng.safetensors"))
                self.partial = partial
        if self.config.epochs < epoch:
            raise OptionError(
                f"epochs {self.config.epochs}: {self.run_dir} has already completed {epoch} "
                "epochs; --epochs may only extend a run"
            )

    def train_epoch(self, epoch: int) -> tuple[float, float]:
        """One pass over the training cases in the epoch's seeded order, from the
        mid-epoch checkpoint if one was restored for this epoch, saving one every
        ``checkpoint_batches`` batches. Returns the mean loss and the seconds taken."""
        self.model.train()
        torch.manual_seed(self.config.seed * 1_000_003 + epoch)
        order = np.random.default_rng([self.config.seed, epoch]).permutation(len(self.data.train))
        size = self.config.batch_size
        num_batches = -(-len(order) // size)
        done, total, n, before = 0, 0.0, 0, 0.0
        device = self.model.embedding.device
        partial, self.partial = self.partial, None
        if partial is not None and int(partial["epoch"]) == epoch:
            done, total, n, before = (partial[k] for k in ("batches", "total", "n", "seconds"))
            _set_rng(partial["rng"], device)
            if self.log:
                print(f"epoch {epoch}: continuing after batch {done} of {num_batches}", flush=True)
        start = time.perf_counter()
        for k, (items, mask, targets) in enumerate(
            batches(self.data.train, order[done * size :], size), done + 1
        ):
            loss, _ = self.model.loss(items.to(device), mask.to(device), targets.to(device))
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(targets)
            n += len(targets)
            if k % self.config.checkpoint_batches == 0 and k < num_batches:
                seconds = before + time.perf_counter() - start
                self._save_partial(epoch, k, total, n, seconds)
        return total / max(n, 1), before + time.perf_counter() - start

    def _save_partial(self, epoch: int, done: int, total: float, n: int, seconds: float) -> None:
        """A mid-epoch checkpoint: weights, optimizer and random state in a new
        folder, then ``partial.json`` pointing at it (written last, atomically)."""
        state = self.run_dir / "state"
        name = f"partial-{epoch:04d}-{done:07d}"
        checkpoint.save_model(self.model, state / name, {"epoch": epoch, "batches": done})
        checkpoint.save_optimizer(self.optimizer, state / name / "optimizer.pt")
        rng = _get_rng(self.model.embedding.device)
        atomic_write(state / name / "rng.safetensors", lambda tmp: save_file(rng, tmp))
        atomic_write_json(
            state / PARTIAL,
            {"epoch": epoch, "batches": done, "total": total, "n": n, "seconds": seconds,
             "directory": name},
        )  # fmt: skip
        _remove_other(state, "partial-*", state / name)

    def fit(self) -> dict[str, Any]:
        """Run the remaining epochs; returns the summary (also ``summary.json``)."""
        for epoch in range(self.start_epoch, self.config.epochs + 1):
            loss, seconds = self.train_epoch(epoch)
            valid = evaluate(self.model, self.data.valid, self.config.eval_batch)
            test = evaluate(self.model, self.data.test, self.config.eval_batch)
            entry = {
                "epoch": epoch,
                "loss": loss,
                "seconds": seconds,
                "threads": self.config.threads,  # of this epoch's end (a resume may change them)
                "valid": valid,
                "test": test,
            }
            self.history.append(entry)
            best = self._best()
            if best is None or valid[SELECT_METRIC] > best["valid"][SELECT_METRIC]:
                self.best_epoch = epoch
                checkpoint.save_model(self.model, self.run_dir / "best", {"epoch": epoch})
            self._save_state(epoch)
            if self.log:
                print(
                    f"epoch {epoch}: loss {loss:.4f}, {seconds:.0f} s, valid P@20 "
                    f"{valid['P@20']:.2f} MRR@20 {valid['MRR@20']:.2f}, test P@20 "
                    f"{test['P@20']:.2f} MRR@20 {test['MRR@20']:.2f}",
                    flush=True,
                )
        return self.summary()

    def _best(self) -> dict[str, Any] | None:
        return next((h for h in self.history if h["epoch"] == self.best_epoch), None)

    def _save_state(self, epoch: int) -> None:
        state = self.run_dir / "state"
        here = state / f"epoch-{epoch:04d}"
        checkpoint.save_model(self.model, here, {"epoch": epoch})
        checkpoint.save_optimizer(self.optimizer, here / "optimizer.pt")
        atomic_write_json(self.run_dir / "metrics.json", {"history": self.history})
        atomic_write_json(
            state / PROGRESS,
            {"epoch": epoch, "history": self.history, "best_epoch": self.best_epoch},
        )
        (state / PARTIAL).unlink(missing_ok=True)
        _remove_other(state, "partial-*", None)
        _remove_other(state, "epoch-*", here)

    def summary(self) -> dict[str, Any]:
        """The selected epoch's metrics (``summary.json``)."""
        best = self._best()
        if best is None:
            raise RunError(f"{self.run_dir}: no completed epoch")
        by_test = max(self.history, key=lambda h: h["test"][SELECT_METRIC])
        out = {
            "run_dir": str(self.run_dir),
            "model": "DHCN*" if self.config.lmam else "DHCN",
            "selection": f"valid (the epoch with the best validation {SELECT_METRIC})",
            "train_cases": len(self.data.train),
            "valid_cases": len(self.data.valid),
            "test_cases": len(self.data.test),
            "subsample": self.config.max_cases is not None,
            "epochs_run": len(self.history),
            "best_epoch": self.best_epoch,
            "valid": best["valid"],
            "test": best["test"],
            "test_best_epoch": {
                "label": TEST_SELECTION_LABEL,
                "epoch": by_test["epoch"],
                "test": by_test["test"],
            },
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "seconds_per_epoch": float(np.mean([h["seconds"] for h in self.history])),
            "threads": self.config.threads,
        }
        atomic_write_json(self.run_dir / "summary.json", out)
        return out


def _remove_other(state: Path, pattern: str, keep: Path | None) -> None:
    for old in state.glob(pattern):
        if old != keep:
            for f in old.iterdir():
                f.unlink()
            old.rmdir()


def _get_rng(device: torch.device) -> dict[str, torch.Tensor]:
    rng = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return rng


def _set_rng(rng: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(rng["cpu"])
    if device.type == "cuda" and "cuda" in rng:
        torch.cuda.set_rng_state(rng["cuda"], device)


def _unique(path: Path) -> Path:
    if not path.exists():
        return path
    k = 2
    while Path(f"{path}-{k}").exists():
        k += 1
    return Path(f"{path}-{k}")


def evaluate_run(
    run_dir: Path, data_dir: str | None = None, device: str | None = None
) -> dict[str, float]:
    """Test metrics of a run's selected (``best/``) weights (on ``device``,
    default the run's)."""
    run_dir = Path(run_dir)
    config = SessionConfig.load(run_dir / "config.yaml")
    if data_dir is not None:
        config.data_dir = data_dir
    if device is not None:
        config.device = device
    config.check()
    torch.set_num_threads(config.threads)
    data = load_sessions(
        config.data_dir, valid_fraction=config.valid_fraction, split_seed=config.seed, max_cases=1
    )
    model = build_model(config, data)
    try:
        checkpoint.load_weights(model, run_dir / "best")
    except FileNotFoundError as e:
        raise RunError(str(e)) from None
    return evaluate(model, data.test, config.eval_batch)


def time_batches(config: SessionConfig, num_batches: int) -> dict[str, float]:
    """Seconds per training batch over ``num_batches`` batches (after one warm-up),
    and the extrapolated seconds per epoch over all training cases."""
    config.check()
    torch.set_num_threads(config.threads)
    data = load_sessions(
        config.data_dir, valid_fraction=config.valid_fraction, split_seed=config.seed
    )
    model = build_model(config, data)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    order = np.random.default_rng(config.seed).permutation(len(data.train))
    it = batches(data.train, order, config.batch_size)
    seconds = []
    device = model.embedding.device
    for k, (items, mask, targets) in enumerate(it):
        if k > num_batches:
            break
        start = time.perf_counter()
        loss, _ = model.loss(items.to(device), mask.to(device), targets.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if k:  # batch 0 is a warm-up
            seconds.append(time.perf_counter() - start)
    if len(seconds) < num_batches:
        raise OptionError(
            f"batches {num_batches}: the data has too few training batches to time "
            f"({len(data.train)} cases, batch size {config.batch_size}; one more is a warm-up)"
        )
    per_batch = float(np.mean(seconds))
    n_batches = -(-len(data.train) // config.batch_size)
    return {
        "train_cases": float(len(data.train)),
        "batches_timed": float(len(seconds)),
        "seconds_per_batch": per_batch,
        "seconds_per_epoch": per_batch * n_batches,
    }
