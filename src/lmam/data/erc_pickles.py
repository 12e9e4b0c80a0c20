"""The feature pickles of the ERC literature (IEMOCAP and MELD), read as they are.

Layouts (a tuple, read with the restricted unpickler; widths come from the data):

* ``classic``: 9-tuple ``(videoIDs, videoSpeakers, videoLabels, videoText,
  videoAudio, videoVisual, videoSentence, trainVid, testVid)``:
  ``IEMOCAP_features.pkl`` of DialogueGCN / MMGCN / MM-DFN,
  ``IEMOCAP_features_raw.pkl`` of bc-LSTM / DialogueRNN.
* ``meld-classic``: the same plus a 10th element, sentiment labels:
  ``MELD_features_raw.pkl`` of MMGCN / MM-DFN.
* ``meld-text-audio``: 9-tuple ``(videoIDs, videoSpeakers, emotionLabels,
  videoText, videoAudio, videoSentence, trainVid, testVid, sentimentLabels)``
  of DialogueGCN (text and audio only).
* ``roberta``: 12-tuple ``(videoIDs, videoSpeakers, videoLabels, text1, text2,
  text3, text4, videoAudio, videoVisual, videoSentence, trainVid, testVid)``
  (``iemocap_multimodal_features.pkl``); ``meld-roberta`` adds a 13th
  element, sentiment labels.

Every dict is keyed by dialogue id. IEMOCAP or MELD is told by the speakers:
``'M'``/``'F'`` (IEMOCAP, 6 emotions) or one-hot vectors (MELD, 7 emotions or,
with ``labels="sentiment"``, 3 sentiments). None of these files has a
validation split: a seeded, dialogue-level one is carved from train
(:func:`~lmam.data.splits.carve_valid`).

RoBERTa text: the layout holds four text feature variants of the same width
``D``; published models use them averaged, concatenated or singly.
``text="mean"`` (default) averages them into one ``(T, D)`` matrix: all four
are used and the width of one is kept. ``"concat"`` gives ``(T, 4 D)``;
``"text1"`` .. ``"text4"`` pick one. The choice is recorded in
``provenance["text"]``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Mapping
from pathlib import Path

import numpy as np

from lmam.data.dataset import Conversation, ConversationDataset
from lmam.data.erc_common import (
    Columns,
    Field,
    as_matrix,
    dialogue_id,
    entry,
    family_of,
    label_names,
    read_dialogue,
    split_ids,
)
from lmam.data.erc_layouts import ROBERTA_TEXTS, Layout, detect_layout, unknown_layout
from lmam.data.errors import DataError
from lmam.data.registry import register_dataset
from lmam.data.safe_pickle import safe_load
from lmam.data.sources import default_data, recognise
from lmam.data.splits import carve_valid
from lmam.data.transcripts import transcript_fields, transcripts_from_object
from lmam.data.validate import validate_dataset

TEXT_MODES = ("mean", "concat", *ROBERTA_TEXTS)


def read_erc_pickle(
    path: str | Path,
    *,
    labels: str = "emotion",
    text: str = "mean",
    valid_fraction: float = 0.1,
    seed: int = 0,
) -> ConversationDataset:
    """Read any IEMOCAP / MELD pickle layout above, or a COSMIC transcripts pickle.

    Args:
        path: the pickle file.
        labels: ``"emotion"`` or ``"sentiment"`` (MELD only).
        text: for RoBERTa layouts: ``"mean"``, ``"concat"`` or ``"text1"`` .. ``"text4"``.
        valid_fraction: share of train dialogues carved off as validation
            (files without a validation split).
        seed: seed of that carve.

    Raises:
        DataError: unreadable file, unknown layout (listing the known ones) or
            any problem found by :func:`~lmam.data.validate.validate_dataset`.
    """
    if text not in TEXT_MODES:
        raise ValueError(f"text must be one of {', '.join(TEXT_MODES)}, got {text!r}")
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    file = Path(path)
    obj = safe_load(file)
    if transcript_fields(obj) is not None:
        return transcripts_from_object(obj, file, labels=labels)
    layout = detect_layout(obj)
    if layout is None:
        raise unknown_layout(file, obj)
    assert isinstance(obj, (tuple, list))
    return _features(
        dict(zip(layout.fields, obj)), layout, file, labels, text, valid_fraction, seed
    )


def _features(
    parts: Mapping[str, object],
    layout: Layout,
    file: Path,
    labels: str,
    text: str,
    valid_fraction: float,
    seed: int,
) -> ConversationDataset:
    family = family_of(parts["videoSpeakers"], file, "videoSpeakers")
    names = label_names(family, labels)
    if labels == "sentiment" and layout.sentiment is None:
        raise DataError("this layout has no sentiment labels", file=file)
    label_field = layout.sentiment if labels == "sentiment" else layout.emotion
    assert label_field is not None
    columns = Columns("videoSpeakers", label_field, "videoSentence")
    splits = {
        split: [
            _conversation(parts, key, layout, columns, family, file, text)
            for key in split_ids(parts[f"{split}Vid"], file, f"{split}Vid")
        ]
        for split in ("train", "test")
    }
    train, valid = carve_valid(splits["train"], valid_fraction, seed)
    modalities = {m: _width(splits, m) for m in _modalities(layout)}
    ds = ConversationDataset(
        name=re.sub(r"[^A-Za-z0-9_-]", "_", file.stem),
        splits={"train": train, "valid": valid, "test": splits["test"]},
        label_names=names,
        modalities=modalities,
        provenance={
            "source": str(file),
            "layout": layout.description,
            **recognise(file),
            "dataset": family,
            "labels": labels,
            "speakers": "M -> 0, F -> 1" if family == "IEMOCAP" else "index of the one-hot vector",
            "valid": (
                f"carved from trainVid: {valid_fraction:.0%} of the dialogues, seed {seed} "
                "(the file has no validation split)"
            ),
            **({"text": _TEXT_NOTE[text]} if len(layout.texts) > 1 else {}),
        },
    )
    validate_dataset(ds, file, field_names=_field_names(layout, label_field))
    return ds


_TEXT_NOTE = {
    "mean": "mean of text1..text4",
    "concat": "text1..text4 concatenated",
    **{t: f"{t} only" for t in ROBERTA_TEXTS},
}


def _modalities(layout: Layout) -> list[str]:
    return ["text", "audio"] + (["visual"] if layout.visual else [])


def _field_names(layout: Layout, label_field: str) -> dict[str, str]:
    names = {
        "feats.text": "/".join(layout.texts),
        "feats.audio": layout.audio,
        "labels": label_field,
        "speakers": "videoSpeakers",
        "texts": "videoSentence",
        "id": "trainVid/testVid",
    }
    if layout.visual:
        names["feats.visual"] = layout.visual
    return names


def _conversation(
    parts: Mapping[str, object],
    key: Hashable,
    layout: Layout,
    columns: Columns,
    family: str,
    file: Path,
    text: str,
) -> Conversation:
    conv = read_dialogue(parts, key, columns, family, file)
    did = dialogue_id(key)

    def matrix(name: str) -> np.ndarray:
        where = Field(file, did, name)
        return as_matrix(entry(parts[name], key, where), where)

    conv.feats["text"] = _text(layout, [matrix(f) for f in layout.texts], text, file, did)
    conv.feats["audio"] = matrix(layout.audio)
    if layout.visual:
        conv.feats["visual"] = matrix(layout.visual)
    return conv


def _text(layout: Layout, mats: list[np.ndarray], mode: str, file: Path, did: str) -> np.ndarray:
    """The text matrix ``(T, D)`` (``(T, 4 D)`` for ``concat``) from one or four variants."""
    if len(mats) == 1:
        return mats[0]
    if mode in ROBERTA_TEXTS:
        return mats[ROBERTA_TEXTS.index(mode)]
    for name, m in zip(layout.texts[1:], mats[1:]):
        if m.shape != mats[0].shape:
            raise DataError(
                f"shape {m.shape} differs from text1's {mats[0].shape}",
                file=file,
                dialogue=did,
                field=name,
            )
    if mode == "concat":
        return np.concatenate(mats, axis=1)
    return np.stack(mats).mean(axis=0, dtype=np.float32)


def _width(splits: Mapping[str, list[Conversation]], modality: str) -> int:
    """The most common feature width of ``modality`` (odd ones are reported by validation)."""
    widths = Counter(
        c.feats[modality].shape[1] for cs in splits.values() for c in cs if len(c.feats[modality])
    )
    return widths.most_common(1)[0][0] if widths else 0


def _registered(
    family: str,
    path: Path | None,
    candidates: list[str],
    *,
    labels: str,
    text: str,
    valid_fraction: float,
    seed: int,
) -> ConversationDataset:
    if path is None:
        root = default_data(family.lower())
        found = [root / name for name in candidates if (root / name).is_file()]
        if not found:
            raise DataError(
                f"no path given and none of {', '.join(candidates)} is here; "
                "pass the path to the pickle",
                file=root,
            )
        path = found[0]
    ds = read_erc_pickle(path, labels=labels, text=text, valid_fraction=valid_fraction, seed=seed)
    held = ds.provenance.get("dataset", "")
    if held != family:
        raise DataError(
            f"this file holds {held}, not {family}: use {held.lower()}-pickle", file=path
        )
    return ds


@register_dataset(
    "iemocap-pickle", "IEMOCAP from a classic or RoBERTa feature pickle (path to the .pkl)"
)
def load_iemocap_pickle(
    path: Path | None = None,
    *,
    text: str = "mean",
    valid_fraction: float = 0.1,
    seed: int = 0,
) -> ConversationDataset:
    """IEMOCAP from IEMOCAP_features(.raw).pkl or iemocap_multimodal_features.pkl."""
    return _registered(
        "IEMOCAP",
        path,
        ["IEMOCAP_features.pkl", "IEMOCAP_features_raw.pkl", "iemocap_multimodal_features.pkl"],
        labels="emotion",
        text=text,
        valid_fraction=valid_fraction,
        seed=seed,
    )


@register_dataset(
    "meld-pickle", "MELD from a classic, text+audio or RoBERTa feature pickle (path to the .pkl)"
)
def load_meld_pickle(
    path: Path | None = None,
    *,
    labels: str = "emotion",
    text: str = "mean",
    valid_fraction: float = 0.1,
    seed: int = 0,
) -> ConversationDataset:
    """MELD from MELD_features_raw.pkl, DialogueGCN's MELD pickle or the RoBERTa file."""
    return _registered(
        "MELD",
        path,
        ["MELD_features_raw.pkl", "MELD_features.pkl", "meld_multimodal_features.pkl"],
        labels=labels,
        text=text,
        valid_fraction=valid_fraction,
        seed=seed,
    )
