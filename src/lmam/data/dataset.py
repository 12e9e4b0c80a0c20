"""The data model: conversations, datasets and batches (batch-first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from lmam.data.errors import DataError

SPLITS = ("train", "valid", "test")
Task = Literal["classification", "regression"]
WORDS = "words"
"""The modality of each utterance's word ids (``(T, L)`` float32 of exact integers, 0 at
padding; :mod:`lmam.features.words`): never standardised, and given to a model only
when asked for by name (a TextCNN with ``over="words"`` reads it)."""


@dataclass
class Conversation:
    """One dialogue (or one video of utterances).

    Attributes:
        id: the dialogue id, unique within its dataset.
        feats: ``{modality: (T, D_m)}`` float32 features, one row per utterance.
        speakers: ``(T,)`` int64 speaker ids (0-based, per dataset).
        labels: ``(T,)`` int64 class ids, or float32 ``(T,)`` / ``(T, K)`` targets
            for regression.
        texts: the transcript of each utterance, when known.
    """

    id: str
    feats: dict[str, np.ndarray]
    speakers: np.ndarray
    labels: np.ndarray
    texts: list[str] | None = None

    def __len__(self) -> int:
        return int(self.speakers.shape[0])


@dataclass
class ConversationDataset:
    """Train / valid / test conversations with everything needed to use them.

    Attributes:
        name: dataset name (a registry name or a file stem).
        splits: ``{"train": [...], "valid": [...], "test": [...]}``.
        label_names: class names (empty for regression).
        task: ``"classification"`` or ``"regression"``.
        modalities: ``{modality: width}`` in the fixed modality order.
        provenance: where the data comes from: source, licence, sha256, ...
        selection: the recommended model selection, ``"valid"`` (best
            validation epoch) or ``"last"`` (fixed number of epochs).
        epochs: the recommended number of epochs for ``selection="last"``.
        warning: something every user must know about this data.
    """

    name: str
    splits: dict[str, list[Conversation]]
    label_names: list[str]
    modalities: dict[str, int]
    task: Task = "classification"
    provenance: dict[str, str] = field(default_factory=dict)
    selection: Literal["valid", "last"] = "valid"
    epochs: int | None = None
    warning: str | None = None

    @property
    def train(self) -> list[Conversation]:
        return self.splits["train"]

    @property
    def valid(self) -> list[Conversation]:
        return self.splits["valid"]

    @property
    def test(self) -> list[Conversation]:
        return self.splits["test"]

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def num_speakers(self) -> int:
        top = [int(c.speakers.max()) for s in SPLITS for c in self.splits.get(s, []) if len(c)]
        return max(top, default=-1) + 1

    def select_modalities(self, names: list[str] | tuple[str, ...]) -> ConversationDataset:
        """A view of this dataset restricted to ``names`` (in that order)."""
        unknown = [n for n in names if n not in self.modalities]
        if unknown:
            raise DataError(
                f"unknown modality {unknown[0]!r}; this dataset has {list(self.modalities)}",
                file=self.name,
            )
        splits = {
            s: [
                Conversation(c.id, {n: c.feats[n] for n in names}, c.speakers, c.labels, c.texts)
                for c in convs
            ]
            for s, convs in self.splits.items()
        }
        mods = {n: self.modalities[n] for n in names}
        return ConversationDataset(
            self.name,
            splits,
            self.label_names,
            mods,
            self.task,
            dict(self.provenance),
            self.selection,
            self.epochs,
            self.warning,
        )


@dataclass
class Batch:
    """A padded, batch-first batch of conversations.

    Attributes:
        feats: ``{modality: (B, T, D_m)}``, zeros at padding.
        mask: ``(B, T)`` bool, true at real utterances.
        speakers: ``(B, T)`` int64, 0 at padding.
        labels: ``(B, T)`` (or ``(B, T, K)``): int64 with ``-100`` at padding for
            classification, float32 with 0 at padding for regression.
        lengths: ``(B,)`` int64 numbers of real utterances.
        ids: the dialogue ids.
    """

    feats: dict[str, Tensor]
    mask: Tensor
    speakers: Tensor
    labels: Tensor
    lengths: Tensor
    ids: list[str]

    def to(self, device: torch.device | str) -> Batch:
        return Batch(
            {m: x.to(device) for m, x in self.feats.items()},
            self.mask.to(device),
            self.speakers.to(device),
            self.labels.to(device),
            self.lengths.to(device),
            self.ids,
        )

    def __len__(self) -> int:
        return len(self.ids)


IGNORE_INDEX = -100


def collate(
    convs: list[Conversation], modalities: list[str] | tuple[str, ...] | None = None
) -> Batch:
    """Pad conversations into a :class:`Batch` (right padding).

    Args:
        convs: the conversations (at least one).
        modalities: which modalities, in this order; default: those of the first.
    """
    if not convs:
        raise ValueError("cannot collate an empty list of conversations")
    names = list(modalities) if modalities is not None else list(convs[0].feats)
    lengths = [len(c) for c in convs]
    b, t = len(convs), max(lengths)
    feats = {}
    for m in names:
        width = convs[0].feats[m].shape[1]
        x = torch.zeros(b, t, width)
        for i, c in enumerate(convs):
            x[i, : lengths[i]] = torch.from_numpy(
                np.ascontiguousarray(c.feats[m], dtype=np.float32)
            )
        feats[m] = x
    mask = torch.zeros(b, t, dtype=torch.bool)
    speakers = torch.zeros(b, t, dtype=torch.long)
    first = convs[0].labels
    regression = np.issubdtype(first.dtype, np.floating)
    label_shape = (b, t, *first.shape[1:])
    if regression:
        labels = torch.zeros(label_shape, dtype=torch.float32)
    else:
        labels = torch.full(label_shape, IGNORE_INDEX, dtype=torch.long)
    for i, c in enumerate(convs):
        n = lengths[i]
        mask[i, :n] = True
        speakers[i, :n] = torch.from_numpy(np.asarray(c.speakers, dtype=np.int64))
        labels[i, :n] = torch.from_numpy(np.asarray(c.labels)).to(labels.dtype)
    return Batch(feats, mask, speakers, labels, torch.tensor(lengths), [c.id for c in convs])
