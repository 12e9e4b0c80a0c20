"""Shared pieces of the IEMOCAP / MELD readers: label names, speakers, conversions.

Every conversion turns raw pickle content into arrays or raises a
:class:`~lmam.data.errors.DataError` naming the file, dialogue and field.

Speaker ids:
    IEMOCAP ``'M'`` -> 0, ``'F'`` -> 1 (fixed order, :data:`IEMOCAP_SPEAKERS`).
    MELD one-hot speaker vectors -> the index of the 1 (the speaker's slot in
    its dialogue, numbered by order of first appearance).
Texts:
    C1 control characters (``\\x80``-``\\x9f``) left by decoding cp1252 text
    as latin1 are repaired to the cp1252 characters (``\\x92`` -> ``’``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmam.data.dataset import Conversation
from lmam.data.errors import DataError

IEMOCAP_LABELS = ["happy", "sad", "neutral", "angry", "excited", "frustrated"]
MELD_EMOTIONS = ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]
MELD_SENTIMENTS = ["neutral", "positive", "negative"]
IEMOCAP_SPEAKERS = {"M": 0, "F": 1}


def label_names(family: str, labels: str) -> list[str]:
    """The class names of ``family`` (``"IEMOCAP"`` / ``"MELD"``) for ``labels``.

    Raises:
        ValueError: ``labels`` is not ``"emotion"`` / ``"sentiment"``, or asks
            for sentiment on IEMOCAP (which has emotion labels only).
    """
    if labels not in ("emotion", "sentiment"):
        raise ValueError(f"labels must be 'emotion' or 'sentiment', got {labels!r}")
    if family == "IEMOCAP":
        if labels != "emotion":
            raise ValueError("IEMOCAP files have emotion labels only (labels='emotion')")
        return list(IEMOCAP_LABELS)
    return list(MELD_EMOTIONS if labels == "emotion" else MELD_SENTIMENTS)


def family_of(speakers: object, file: str | Path, field: str) -> str:
    """``"IEMOCAP"`` ('M'/'F' speakers) or ``"MELD"`` (one-hot speakers)."""
    kind = speaker_kind(speakers)
    if kind == "unknown":
        raise DataError(
            "cannot tell whether this is IEMOCAP ('M'/'F' speakers) or MELD (one-hot "
            "speaker vectors): expected a dict of per-dialogue speaker lists",
            file=file,
            field=field,
        )
    return "IEMOCAP" if kind == "gender" else "MELD"


@dataclass(frozen=True)
class Columns:
    """The names of a layout's per-dialogue dicts of speakers, labels and sentences."""

    speakers: str
    labels: str
    sentences: str


def read_dialogue(
    parts: Mapping[str, object], key: Hashable, columns: Columns, family: str, file: str | Path
) -> Conversation:
    """The speakers ``(T,)``, labels ``(T,)`` and texts of dialogue ``key``, no features yet."""
    did = dialogue_id(key)

    def get(name: str) -> tuple[object, Field]:
        where = Field(file, did, name)
        return entry(parts[name], key, where), where

    to_speakers = gender_speakers if family == "IEMOCAP" else onehot_speakers
    return Conversation(
        id=did,
        feats={},
        speakers=to_speakers(*get(columns.speakers)),
        labels=as_labels(*get(columns.labels)),
        texts=as_texts(*get(columns.sentences)),
    )


def dialogue_id(key: Hashable) -> str:
    """The library's string id for a pickle's dialogue key (``1039`` -> ``"1039"``)."""
    return key.decode("latin1") if isinstance(key, bytes) else str(key)


class Field:
    """Where a value comes from: file, dialogue and field, for error messages."""

    def __init__(self, file: str | Path, dialogue: str | None, field: str) -> None:
        self.file = file
        self.dialogue = dialogue
        self.field = field

    def error(self, problem: str) -> DataError:
        return DataError(problem, file=self.file, dialogue=self.dialogue, field=self.field)


def entry(table: object, key: Hashable, where: Field) -> object:
    """``table[key]`` where ``table`` must be a dict keyed by dialogue id."""
    if not isinstance(table, Mapping):
        raise where.error(f"expected a dict keyed by dialogue id, got {type(table).__name__}")
    if key not in table:
        raise where.error("the dialogue is listed in a split but has no entry here")
    return table[key]


def as_matrix(value: object, where: Field) -> np.ndarray:
    """A ``(T, D)`` float32 matrix from a list of ``(D,)`` vectors or a 2-D array.

    An empty list gives a ``(0, 0)`` matrix (the validator reports the empty dialogue).
    """
    if isinstance(value, (list, tuple)) and len(value) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if isinstance(value, (list, tuple)):
        widths = [np.size(v) for v in value]
        if len(set(widths)) > 1:
            at = next(i for i, w in enumerate(widths) if w != widths[0])
            raise where.error(
                f"utterance {at} has {widths[at]} features but utterance 0 has {widths[0]}"
            )
    return _array(value, np.float32, 2, "one feature vector per utterance (T, D)", where)


def _array(value: object, dtype: type | None, ndim: int, what: str, where: Field) -> np.ndarray:
    """``value`` as an array of ``ndim`` dimensions, or a DataError saying ``what`` was expected."""
    try:
        x = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError) as e:
        raise where.error(f"expected {what} ({e})") from None
    if x.ndim != ndim:
        raise where.error(f"expected {what}, got shape {x.shape}")
    return x


def as_labels(value: object, where: Field) -> np.ndarray:
    """A ``(T,)`` int64 array of class ids from a list of ints (or integral floats)."""
    if isinstance(value, (list, tuple)) and len(value) == 0:
        return np.zeros(0, dtype=np.int64)
    y = _array(value, None, 1, "one class id per utterance (T,)", where)
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all() and (y == np.round(y)).all():
        return y.astype(np.int64)
    raise where.error(f"expected integer class ids, got {y.tolist()[:5]}...")


def gender_speakers(value: object, where: Field) -> np.ndarray:
    """``(T,)`` int64 ids from IEMOCAP's ``['M', 'F', ...]`` (M -> 0, F -> 1)."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise where.error(f"expected a list of 'M'/'F', got {type(value).__name__}")
    ids = []
    for i, s in enumerate(value):
        key = s.decode("latin1") if isinstance(s, bytes) else s
        if key not in IEMOCAP_SPEAKERS:
            raise where.error(f"unknown speaker {s!r} at utterance {i}; expected 'M' or 'F'")
        ids.append(IEMOCAP_SPEAKERS[key])
    return np.asarray(ids, dtype=np.int64)


def onehot_speakers(value: object, where: Field) -> np.ndarray:
    """``(T,)`` int64 ids from MELD's one-hot speaker vectors ``(T, S)``."""
    if isinstance(value, (list, tuple)) and len(value) == 0:
        return np.zeros(0, dtype=np.int64)
    x = _array(value, np.float64, 2, "one-hot speaker vectors (T, S)", where)
    onehot = ((x == 0) | (x == 1)).all(axis=1) & (x.sum(axis=1) == 1)
    if not onehot.all():
        at = int(np.flatnonzero(~onehot)[0])
        raise where.error(f"speaker vector at utterance {at} is not one-hot: {x[at].tolist()}")
    return x.argmax(axis=1).astype(np.int64)


def speaker_kind(table: object) -> str:
    """``"gender"`` ('M'/'F' strings) or ``"onehot"`` (vectors): how a speakers dict is written."""
    if isinstance(table, Mapping):
        for value in table.values():
            if isinstance(value, (list, tuple, np.ndarray)) and len(value) > 0:
                first = value[0]
                return "gender" if isinstance(first, (str, bytes)) else "onehot"
    return "unknown"


def repair_text(text: str) -> str:
    """Replace C1 control characters by the cp1252 characters they stand for."""
    if not any("\x80" <= c <= "\x9f" for c in text):
        return text
    return "".join(_cp1252(c) for c in text)


def _cp1252(c: str) -> str:
    if "\x80" <= c <= "\x9f":
        try:
            return bytes([ord(c)]).decode("cp1252")
        except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d are undefined
            return c
    return c


def as_texts(value: object, where: Field) -> list[str]:
    """The transcript of each utterance, repaired (see :func:`repair_text`)."""
    if not isinstance(value, (list, tuple)):
        raise where.error(f"expected a list of strings, got {type(value).__name__}")
    texts = []
    for i, t in enumerate(value):
        if isinstance(t, bytes):
            t = t.decode("latin1")
        if not isinstance(t, str):
            raise where.error(f"utterance {i} is a {type(t).__name__}, not a string")
        texts.append(repair_text(t))
    return texts


def split_ids(value: object, file: str | Path, field: str) -> list[Hashable]:
    """The dialogue ids of a split, in file order (sets are sorted)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Mapping):
        value = list(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=_id_order)
    if not isinstance(value, (list, tuple)):
        raise DataError(
            f"expected a list of dialogue ids, got {type(value).__name__}", file=file, field=field
        )
    for k in value:
        if not isinstance(k, (str, bytes, int, np.integer)):
            raise DataError(f"dialogue id {k!r} is not a string or number", file=file, field=field)
    return list(value)


def _id_order(key: Hashable) -> tuple[bool, int, str]:
    return (isinstance(key, str), key if isinstance(key, int) else 0, str(key))
