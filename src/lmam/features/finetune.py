"""Fine-tuning the sentence encoder on a dataset's training labels.

The published context models that reach about 65 weighted F1 on IEMOCAP from
text (COSMIC's table) read features of an utterance encoder fine-tuned on the
training split's emotion labels, utterance by utterance, without context. This
module does the same with the offline all-MiniLM-L6-v2: a linear classifier on
the (normalised) sentence embedding, cross-entropy over the training
utterances, AdamW with a linear decay, and the epoch kept is the one with the
best weighted F1 of that classifier on the validation split (the test split is
never read). The classifier is then dropped and the fine-tuned encoder embeds
every split.

Defaults (4 epochs, learning rate 2e-5 for the encoder and 1e-3 for the
classifier, batch 32, weight decay 0.01) are the usual BERT fine-tuning
settings (Devlin et al. 2019 recommend 2-4 epochs and 2e-5 to 5e-5), fixed in
advance, not tuned here; the epoch is chosen on validation.

The training features then come from an encoder that has seen their labels:
they separate the training classes better than the validation or test
features do. Select models on validation, as every recipe here does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sklearn.metrics import f1_score
from torch import nn

from lmam.data.dataset import Conversation, ConversationDataset
from lmam.data.errors import DataError
from lmam.errors import OptionError
from lmam.features.context import contextual_texts


@dataclass(frozen=True)
class FineTune:
    """How to fine-tune the encoder (see the module docstring for where each default comes from).

    Attributes:
        epochs: passes over the training utterances (the best on validation is kept).
        lr: the encoder's peak learning rate (linear decay to 0).
        head_lr: the classifier's learning rate.
        batch_size: utterances per step.
        weight_decay: AdamW's weight decay.
        seed: seeds the classifier's initialisation and the shuffling.
        max_tokens: longer utterances are truncated to this many tokens.
        context: earlier utterances of the dialogue read with each utterance
            (:mod:`lmam.features.context`); 0: the utterance alone.
        folds: 0, or cross-fitting with this many folds (2 or more): the
            training dialogues are dealt into ``folds`` folds (seeded by ``seed``)
            and each fold's features come from an encoder fine-tuned on the other
            folds, so that no training feature comes from an encoder that saw its
            label (:func:`fold_sources`); validation and test are embedded by the
            encoder fine-tuned on every training dialogue, as without folds.
    """

    epochs: int = 4
    lr: float = 2e-5
    head_lr: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.01
    seed: int = 0
    max_tokens: int = 128
    context: int = 0
    folds: int = 0

    def check(self) -> None:
        """Raises :class:`OptionError` naming a bad setting and what it takes."""
        for name in ("epochs", "batch_size", "max_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise OptionError(f"fine-tuning {name} must be a positive integer, got {value!r}")
        for name in ("lr", "head_lr"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value < 1:
                raise OptionError(f"fine-tuning {name} must be in (0, 1), got {value!r}")
        if not isinstance(self.context, int) or isinstance(self.context, bool) or self.context < 0:
            raise OptionError(f"fine-tuning context must be an integer >= 0, got {self.context!r}")
        folds = self.folds
        if not isinstance(folds, int) or isinstance(folds, bool) or folds < 0 or folds == 1:
            raise OptionError(f"fine-tuning folds must be 0 (none) or 2 or more, got {folds!r}")
        if not 0 <= self.weight_decay < 1:
            raise OptionError(
                f"fine-tuning weight_decay must be in [0, 1), got {self.weight_decay!r}"
            )

    def changed(self) -> list[str]:
        """The names of the settings a user can give (epochs, lr, seed, context,
        folds) that differ from the defaults: refused when fine-tuning is not asked for."""
        default = FineTune()
        return [
            k
            for k in ("epochs", "lr", "seed", "context", "folds")
            if getattr(self, k) != getattr(default, k)
        ]

    def describe(self) -> str:
        """A stable one-line description: part of the cache keys (``context`` and
        ``folds`` only when set, so that the keys of encoders tuned without them
        stay as they were)."""
        settings = asdict(self)
        for name in ("context", "folds"):
            if not settings[name]:
                del settings[name]
        return json.dumps(settings, sort_keys=True)


def asked_fine_tuning(
    fine_tune: bool,
    epochs: int,
    lr: float,
    seed: int,
    context: int,
    folds: int,
    *,
    flags: bool,
) -> FineTune | None:
    """The fine-tuning a user asked for: the settings they gave, or ``None`` without
    ``fine_tune``. Settings changed without ``fine_tune`` are refused, named as the user
    spelled them (``flags``: the command line's ``--fine-tune-*``, else the dataset
    options ``fine_tune_*=value``); asked-for settings are checked (before any file is
    read)."""
    settings = FineTune(epochs=epochs, lr=lr, seed=seed, context=context, folds=folds)
    if fine_tune:
        settings.check()
        return settings
    changed = sorted(settings.changed())
    if not changed:
        return None
    if flags:
        given, add = ", ".join(f"--fine-tune-{k}" for k in changed), "--fine-tune"
    else:
        given = ", ".join(f"fine_tune_{k}={getattr(settings, k)}" for k in changed)
        add = "fine_tune=true"
    raise OptionError(f"{given}: settings of the encoder's fine-tuning; add {add}")


def fold_sources(
    source: ConversationDataset, folds: int, seed: int
) -> list[tuple[ConversationDataset, list[Conversation]]]:
    """Cross-fitting's folds: for each, the source to fine-tune on (the training
    dialogues of the other folds, and the validation split to select its epoch)
    and the training dialogues it embeds. The dialogues are dealt into ``folds``
    folds by a permutation seeded by ``seed``; every training dialogue is in
    exactly one fold."""
    train = source.splits.get("train", [])
    if len(train) < folds:
        raise DataError(
            f"{folds} folds need at least {folds} training dialogues, there are {len(train)}",
            file=source.name,
        )
    fold = np.random.default_rng(seed).permutation(len(train)) % folds
    out = []
    for j in range(folds):
        rest = [c for c, f in zip(train, fold) if f != j]
        splits = {"train": rest, "valid": source.splits.get("valid", [])}
        out.append((replace(source, splits=splits), [c for c, f in zip(train, fold) if f == j]))
    return out


def labelled_texts(
    ds: ConversationDataset, split: str, context: int = 0
) -> tuple[list[str], np.ndarray]:
    """The texts and labels of every labelled utterance of ``split``, each text
    with ``context`` earlier utterances (:func:`~lmam.features.context.contextual_texts`).

    Raises:
        DataError: a conversation of the split has no texts, or the split is empty.
    """
    texts: list[str] = []
    labels: list[np.ndarray] = []
    for c in ds.splits.get(split, []):
        if c.texts is None:
            raise DataError("no texts to fine-tune on", file=ds.name, dialogue=c.id, field="texts")
        keep = np.asarray(c.labels) >= 0
        read = contextual_texts(c.texts, c.speakers.tolist(), context)
        texts.extend(t for t, k in zip(read, keep) if k)
        labels.append(np.asarray(c.labels)[keep].astype(np.int64))
    if not texts:
        raise DataError(f"no labelled utterances in split {split!r}", file=ds.name)
    return texts, np.concatenate(labels)


def _embed(model: Any, texts: list[str]) -> torch.Tensor:
    """``(N, width)`` sentence embeddings with gradients (``model`` in train mode)."""
    prepare = getattr(model, "preprocess", None) or model.tokenize
    features = prepare(texts)
    out: torch.Tensor = model(features)["sentence_embedding"]
    return out


@torch.no_grad()
def _predict(model: Any, head: nn.Module, texts: list[str], batch_size: int) -> np.ndarray:
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros(len(texts), dtype=np.int64)
    for start in range(0, len(order), 4 * batch_size):
        rows = order[start : start + 4 * batch_size]
        logits = head(_embed(model, [texts[i] for i in rows]))
        out[rows] = logits.argmax(-1).numpy()
    return out


def _batches(lengths: list[int], size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of texts of similar lengths (little padding): a random
    permutation, sorted by length within pools of 50 batches, cut into batches,
    the batches shuffled."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = 50 * size
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[k : k + size] for k in range(0, len(chunk), size))
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def fine_tune(
    model: Any,
    source: ConversationDataset,
    config: FineTune,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune the sentence-transformers ``model`` in place on ``source``'s training labels.

    Args:
        model: a ``SentenceTransformer`` (modified in place; left in eval mode
            with the weights of the best validation epoch).
        source: a classification dataset with texts, ``train`` and ``valid`` splits.
        config: the settings.

    Returns:
        A report: the validation weighted F1 of every epoch, the epoch kept,
        seconds, the number of training utterances.

    Raises:
        DataError: the dataset has no texts, no labels or is not a classification task.
    """
    config.check()
    if source.task != "classification" or not source.label_names:
        raise DataError("fine-tuning needs emotion classes", file=source.name, field="labels")
    for split in ("train", "valid"):
        if not source.splits.get(split):
            raise DataError(f"fine-tuning needs a {split!r} split", file=source.name)
    train_texts, train_labels = labelled_texts(source, "train", config.context)
    valid_texts, valid_labels = labelled_texts(source, "valid", config.context)
    max_tokens = int(getattr(model, "max_seq_length", config.max_tokens) or config.max_tokens)
    model.max_seq_length = min(max_tokens, config.max_tokens)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    dimension = getattr(model, "get_embedding_dimension", None)
    width = int((dimension or model.get_sentence_embedding_dimension)())
    head = nn.Linear(width, len(source.label_names))
    optimizer = torch.optim.AdamW(
        [
            {"params": list(model.parameters()), "lr": config.lr},
            {"params": list(head.parameters()), "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    lengths = [len(t) for t in train_texts]
    pools = range(0, len(lengths), 50 * config.batch_size)
    steps_per_epoch = sum(
        math.ceil(min(50 * config.batch_size, len(lengths) - p) / config.batch_size) for p in pools
    )
    total = steps_per_epoch * config.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / total))
    labels = torch.from_numpy(train_labels)
    history: list[dict[str, float]] = []
    best_f1, best_epoch, best_state = -1.0, 0, copy.deepcopy(model.state_dict())
    start_time = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), disable=not progress) as bar:
        task = bar.add_task("fine-tuning", total=total)
        for epoch in range(1, config.epochs + 1):
            model.train()
            losses = []
            for rows in _batches(lengths, config.batch_size, generator):
                logits = head(_embed(model, [train_texts[i] for i in rows]))
                loss = nn.functional.cross_entropy(logits, labels[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                losses.append(loss.item())
                bar.advance(task)
            predicted = _predict(model, head, valid_texts, config.batch_size)
            f1 = float(f1_score(valid_labels, predicted, average="weighted", zero_division=0))
            history.append({"epoch": epoch, "loss": float(np.mean(losses)), "valid_wf1": f1})
            bar.update(task, description=f"fine-tuning (epoch {epoch}: valid wF1 {f1:.3f})")
            if f1 > best_f1:
                best_f1, best_epoch = f1, epoch
                best_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return {
        "history": history,
        "epoch": best_epoch,
        "valid_weighted_f1": best_f1,
        "seconds": time.perf_counter() - start_time,
        "train_utterances": len(train_texts),
        "threads": torch.get_num_threads(),
        "config": asdict(config),
    }


def weights_key(source_digest: str, base_name: str, config: FineTune) -> str:
    """The cache key of the encoder fine-tuned from ``base_name`` on a source with ``config``."""
    text = f"{source_digest}\0{base_name}\0{config.describe()}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def save_weights(model: Any, report: dict[str, Any], path: Path) -> None:
    """The fine-tuned weights (safetensors) and the report beside them (JSON), each
    written to a temporary file first and then renamed."""
    from safetensors.torch import save_model

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_model(model, str(tmp))
    os.replace(tmp, path)
    meta = path.with_suffix(".json")
    tmp_meta = meta.with_name(f".{meta.name}.{os.getpid()}.tmp")
    tmp_meta.write_text(json.dumps(report, indent=2))
    os.replace(tmp_meta, meta)


def load_weights(model: Any, path: Path) -> dict[str, Any]:
    """Load fine-tuned weights saved by :func:`save_weights` into ``model``; returns the report."""
    from safetensors.torch import load_model

    load_model(model, str(path))
    model.eval()
    report: dict[str, Any] = json.loads(path.with_suffix(".json").read_text())
    return report
