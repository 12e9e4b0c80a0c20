"""Small pickles in the exact structure of the ERC layouts, written by the tests.

Each builder returns the raw object (tuple or list) so a test can damage one
element before writing it with :func:`write`.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

WIDTHS = {"text": 6, "audio": 4, "visual": 5}
IEMOCAP_TRAIN = [f"Ses0{s}{g}_impro0{k}" for s in (1, 2) for g in "FM" for k in (1, 2, 3)][:10]
IEMOCAP_TEST = ["Ses05F_impro01", "Ses05M_script01_1"]
MELD_TRAIN = list(range(10))
MELD_TEST = [1153, 1154]


def write(path: Path, obj: object, protocol: int = 2) -> Path:
    """Pickle ``obj`` to ``path`` (protocol 2, like the published Python 2 files)."""
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def _lengths(ids: list) -> dict:
    return {k: 3 + i % 4 for i, k in enumerate(ids)}


def _features(ids: list, width: int, seed: int, as_list: bool) -> dict:
    rng = np.random.default_rng(seed)
    out: dict = {}
    for k, t in _lengths(ids).items():
        x = rng.normal(size=(t, width))
        out[k] = [row for row in x] if as_list else x
    return out


def _sentences(ids: list) -> dict:
    return {k: [f"it\x92s line {i} of {k}" for i in range(t)] for k, t in _lengths(ids).items()}


def iemocap_parts() -> dict[str, object]:
    """The per-dialogue dicts and splits of a small IEMOCAP file (speakers 'M'/'F', 6 labels)."""
    ids = IEMOCAP_TRAIN + IEMOCAP_TEST
    lengths = _lengths(ids)
    return {
        "videoIDs": {k: [f"{k}_{i:03d}" for i in range(t)] for k, t in lengths.items()},
        "videoSpeakers": {k: ["M" if i % 2 else "F" for i in range(t)] for k, t in lengths.items()},
        "videoLabels": {
            k: [(i + j) % 6 for i in range(t)] for j, (k, t) in enumerate(lengths.items())
        },
        "videoText": _features(ids, WIDTHS["text"], 1, as_list=True),
        "videoAudio": _features(ids, WIDTHS["audio"], 2, as_list=True),
        "videoVisual": _features(ids, WIDTHS["visual"], 3, as_list=False),
        "videoSentence": _sentences(ids),
        "trainVid": set(IEMOCAP_TRAIN),
        "testVid": list(IEMOCAP_TEST),
    }


def meld_parts() -> dict[str, object]:
    """A small MELD file's parts: one-hot speakers (9 slots), 7 emotions, 3 sentiments."""
    ids = MELD_TRAIN + MELD_TEST
    lengths = _lengths(ids)

    def onehot(slot: int) -> list[int]:
        return [1 if s == slot else 0 for s in range(9)]

    return {
        "videoIDs": {k: list(range(t)) for k, t in lengths.items()},
        "videoSpeakers": {k: [onehot(i % 3) for i in range(t)] for k, t in lengths.items()},
        "videoLabels": {k: [(i + k) % 7 for i in range(t)] for k, t in lengths.items()},
        "videoText": _features(ids, WIDTHS["text"], 4, as_list=True),
        "videoAudio": _features(ids, WIDTHS["audio"], 5, as_list=True),
        "videoVisual": _features(ids, WIDTHS["visual"], 6, as_list=True),
        "videoSentence": _sentences(ids),
        "trainVid": list(MELD_TRAIN),
        "testVid": list(MELD_TEST),
        "sentiment": {k: [(i * k) % 3 for i in range(t)] for k, t in lengths.items()},
    }


CLASSIC = (
    "videoIDs",
    "videoSpeakers",
    "videoLabels",
    "videoText",
    "videoAudio",
    "videoVisual",
    "videoSentence",
    "trainVid",
    "testVid",
)
ROBERTA = (
    "videoIDs",
    "videoSpeakers",
    "videoLabels",
    "text1",
    "text2",
    "text3",
    "text4",
    "videoAudio",
    "videoVisual",
    "videoSentence",
    "trainVid",
    "testVid",
)


def _roberta(parts: dict[str, object]) -> dict[str, object]:
    ids = list(parts["videoLabels"])  # type: ignore[call-overload]
    return {**parts, **{f"text{i}": _features(ids, 8, 10 + i, as_list=True) for i in (1, 2, 3, 4)}}


def classic_iemocap() -> tuple:
    """The 9-tuple of IEMOCAP_features.pkl / IEMOCAP_features_raw.pkl."""
    parts = iemocap_parts()
    return tuple(parts[f] for f in CLASSIC)


def classic_meld() -> tuple:
    """The 10-tuple of MELD_features_raw.pkl (last element: sentiment labels)."""
    parts = meld_parts()
    return tuple(parts[f] for f in (*CLASSIC, "sentiment"))


def meld_text_audio() -> tuple:
    """DialogueGCN's MELD 9-tuple: (ids, speakers, emotion, text, audio, sentences, train, test, sentiment)."""
    p = meld_parts()
    order = ("videoIDs", "videoSpeakers", "videoLabels", "videoText", "videoAudio")
    return (*(p[f] for f in order), p["videoSentence"], p["trainVid"], p["testVid"], p["sentiment"])


def roberta_iemocap() -> tuple:
    """The 12-tuple of iemocap_multimodal_features.pkl."""
    parts = _roberta(iemocap_parts())
    return tuple(parts[f] for f in ROBERTA)


def roberta_meld() -> tuple:
    """The 13-tuple of the MELD RoBERTa file (last element: sentiment labels)."""
    parts = _roberta(meld_parts())
    return tuple(parts[f] for f in (*ROBERTA, "sentiment"))


def cosmic_iemocap() -> list:
    """cosmic_iemocap.pkl: [speakers, labels, sentences, trainIds, testIds, validIds]."""
    p = iemocap_parts()
    train = IEMOCAP_TRAIN[:8]
    valid = IEMOCAP_TRAIN[8:]
    return [p["videoSpeakers"], p["videoLabels"], p["videoSentence"], train, IEMOCAP_TEST, valid]


def cosmic_meld() -> list:
    """cosmic_meld.pkl: [speakers, emotion, sentiment, sentences, trainIds, testIds, validIds]."""
    p = meld_parts()
    return [
        p["videoSpeakers"],
        p["videoLabels"],
        p["sentiment"],
        p["videoSentence"],
        MELD_TRAIN[:8],
        MELD_TEST,
        MELD_TRAIN[8:],
    ]
