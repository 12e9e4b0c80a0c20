"""Features of a conversation file written as an lmam dataset, one modality at a time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from lmam.data.conversation_files import ConversationFile
from lmam.data.dataset import Conversation, ConversationDataset
from lmam.data.errors import DataError
from lmam.data.lmam_format import is_ours, load_dataset, save_dataset


def with_modality(
    conversations: ConversationFile, modality: str, x: np.ndarray, provenance: dict[str, str]
) -> ConversationDataset:
    """The dataset of ``conversations`` with the one modality ``modality`` (rows in file order)."""
    return conversations.to_dataset({modality: x}, provenance=provenance)


def add_modality(
    base: ConversationDataset, new: ConversationDataset, file: Path
) -> ConversationDataset:
    """``base`` with ``new``'s modalities added (or replaced), for the same conversations.

    Raises:
        DataError: the two do not hold the same dialogues, splits and utterance counts.
    """
    for split in new.splits:
        a = [(c.id, len(c)) for c in base.splits.get(split, [])]
        b = [(c.id, len(c)) for c in new.splits[split]]
        if a != b:
            raise DataError(
                f"holds other conversations than {new.provenance.get('source', new.name)} "
                f"(split {split!r}: {len(a)} dialogues vs {len(b)}, or other ids / lengths); "
                "write to a new file instead of adding",
                file=file,
            )
    splits = {}
    for split, convs in base.splits.items():
        others = {c.id: c for c in new.splits.get(split, [])}
        splits[split] = [
            Conversation(c.id, {**c.feats, **others[c.id].feats}, c.speakers, c.labels, c.texts)
            for c in convs
        ]
    return replace(
        base,
        splits=splits,
        modalities={**base.modalities, **new.modalities},
        provenance={**base.provenance, **new.provenance},
    )


def write_features(ds: ConversationDataset, out: Path, add: bool) -> ConversationDataset:
    """Write ``ds`` to ``out`` (atomically); with ``add``, into the dataset already there."""
    out = Path(out)
    if add and out.exists():
        if not is_ours(out):
            raise DataError("not an lmam dataset file, so features cannot be added to it", file=out)
        ds = add_modality(load_dataset(out), ds, out)
    save_dataset(ds, out)
    return ds
