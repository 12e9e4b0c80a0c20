"""UR-FUNNY's published pickles (Hasan et al., EMNLP 2019), read safely.

Written from the dataset's README (github.com/ROC-HCI/UR-FUNNY) and its public
loader; every file goes through :func:`lmam.data.safe_pickle.safe_load`.

- ``data_folds.pkl``: ``{"train": [id, ...], "dev": [...], "test": [...]}``.
- ``language_sdk.pkl`` (V2; V1: ``word_embedding_indexes_sdk.pkl``):
  ``{id: {"punchline_embedding_indexes": [w, ...],
  "context_embedding_indexes": [[w, ...], ...], ...}}`` (sentences and word
  intervals too, unused here).
- ``word_embedding_list.pkl``: the GloVe vector (300) of every word index.
- ``covarep_features_sdk.pkl`` / ``openface_features_sdk.pkl``:
  ``{id: {"punchline_features": (n_words, D), "context_features":
  [(n_words_s, D), ...]}}``: word-aligned COVAREP (81) and OpenFace (371 in
  V2, 75 in V1) averages.
- ``humor_label_sdk.pkl``: ``{id: 0 or 1}``.

Modalities are ``text`` (word vectors), ``audio`` (COVAREP), ``visual``
(OpenFace). Non-finite feature values (COVAREP has some) become 0. The last
``max_context`` context sentences and the last ``max_words`` words of each
sentence are kept (the public loader's defaults are 5 and 20).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from lmam.data.errors import DataError
from lmam.data.safe_pickle import safe_load

MODALITIES = ("text", "audio", "visual")
FOLDS = ("train", "dev", "test")
FOLDS_FILE = "data_folds.pkl"
LANGUAGE_FILES = ("language_sdk.pkl", "word_embedding_indexes_sdk.pkl")
EMBEDDINGS_FILE = "word_embedding_list.pkl"
FEATURE_FILES = {"audio": "covarep_features_sdk.pkl", "visual": "openface_features_sdk.pkl"}
LABELS_FILE = "humor_label_sdk.pkl"

Features = dict[str, np.ndarray]  # {modality: (n_words, D_m)}


@dataclass
class HumourSample:
    """One video segment: the punchline's and each context sentence's word-aligned features."""

    id: str
    punchline: Features
    context: list[Features]
    label: int


@dataclass
class HumourData:
    """The three folds and each modality's width."""

    train: list[HumourSample]
    dev: list[HumourSample]
    test: list[HumourSample]
    dims: dict[str, int] = field(default_factory=dict)


def _dict(path: Path) -> dict[object, object]:
    raw = safe_load(path)
    if not isinstance(raw, dict):
        raise DataError(f"expected a dictionary, got {type(raw).__name__}", file=path)
    return raw


def _entry(table: dict[object, object], key: object, path: Path) -> object:
    if key not in table:
        raise DataError(f"segment {key!r}: missing (it is in {FOLDS_FILE})", file=path)
    return table[key]


def _field(entry: object, name: str, key: object, path: Path) -> object:
    if not isinstance(entry, dict) or name not in entry:
        raise DataError(f"segment {key!r}: missing", file=path, field=name)
    return entry[name]


def _matrix(value: object, width: int | None, what: str, path: Path, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(
            f"{what}: not a numeric (n_words, D) array", file=path, field=name
        ) from None
    if arr.size == 0:
        return np.zeros((0, width or 0), dtype=np.float32)
    if arr.ndim != 2 or (width is not None and arr.shape[1] != width):
        raise DataError(
            f"{what}: expected shape (n_words, {width or 'D'}), got {arr.shape}",
            file=path,
            field=name,
        )
    return np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)


def _indexes(value: object, vocab: int, what: str, path: Path, name: str) -> np.ndarray:
    try:
        idx = np.asarray(value, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"{what}: word indexes must be integers", file=path, field=name) from None
    if idx.size and (idx.min() < 0 or idx.max() >= vocab):
        raise DataError(
            f"{what}: word index out of range 0..{vocab - 1} of {EMBEDDINGS_FILE}",
            file=path,
            field=name,
        )
    return idx


def load_urfunny(directory: str | Path, *, max_context: int = 5, max_words: int = 20) -> HumourData:
    """Read the UR-FUNNY pickles from ``directory``.

    Raises:
        DataError: a missing or malformed file, naming the file, the segment
            id and the field.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("no such folder", file=directory)
    folds_path = directory / FOLDS_FILE
    folds = _dict(folds_path)
    for name in FOLDS:
        if not isinstance(folds.get(name), (list, tuple)):
            raise DataError("expected a list of segment ids", file=folds_path, field=name)
    lang_path = next((directory / f for f in LANGUAGE_FILES if (directory / f).exists()), None)
    if lang_path is None:
        raise DataError(f"no {' or '.join(LANGUAGE_FILES)} here", file=directory)
    language = _dict(lang_path)
    emb_path = directory / EMBEDDINGS_FILE
    embeddings = _matrix(safe_load(emb_path), None, "the word vectors", emb_path, "word vectors")
    feature_paths = {m: directory / f for m, f in FEATURE_FILES.items()}
    features = {m: _dict(p) for m, p in feature_paths.items()}
    labels_path = directory / LABELS_FILE
    labels = _dict(labels_path)
    dims = {"text": int(embeddings.shape[1])}
    vocab = len(embeddings)

    def sample(key: object) -> HumourSample:
        words = _entry(language, key, lang_path)
        punch = _indexes(
            _field(words, "punchline_embedding_indexes", key, lang_path),
            vocab, f"segment {key!r}", lang_path, "punchline_embedding_indexes",
        )  # fmt: skip
        ctx_raw = _field(words, "context_embedding_indexes", key, lang_path)
        if not isinstance(ctx_raw, (list, tuple)):
            raise DataError(
                f"segment {key!r}: expected a list of sentences",
                file=lang_path, field="context_embedding_indexes",
            )  # fmt: skip
        ctx_text = [
            _indexes(s, vocab, f"segment {key!r}", lang_path, "context_embedding_indexes")
            for s in ctx_raw
        ]
        p_feats: Features = {"text": embeddings[punch[-max_words:]]}
        c_feats: list[Features] = [{"text": embeddings[s[-max_words:]]} for s in ctx_text]
        for m, table in features.items():
            path = feature_paths[m]
            entry = _entry(table, key, path)
            what = f"segment {key!r}"
            p = _matrix(_field(entry, "punchline_features", key, path), dims.get(m), what, path,
                        "punchline_features")  # fmt: skip
            dims.setdefault(m, p.shape[1])
            p_feats[m] = p[-max_words:]
            ctx = _field(entry, "context_features", key, path)
            if not isinstance(ctx, (list, tuple)) or len(ctx) != len(ctx_text):
                raise DataError(
                    f"{what}: expected {len(ctx_text)} context sentences (as in {lang_path.name})",
                    file=path, field="context_features",
                )  # fmt: skip
            for sent, c in zip(c_feats, ctx):
                sent[m] = _matrix(c, dims[m], what, path, "context_features")[-max_words:]
        label = _entry(labels, key, labels_path)
        if not isinstance(label, (int, float, np.integer, np.floating)) or label not in (0, 1):
            raise DataError(
                f"segment {key!r}: label must be 0 or 1, got {label!r}", file=labels_path
            )
        return HumourSample(
            str(key), p_feats, c_feats[-max_context:] if max_context else [], int(label)
        )

    ids = {name: list(cast(list, folds[name])) for name in FOLDS}
    out = {name: [sample(k) for k in ids[name]] for name in FOLDS}
    return HumourData(out["train"], out["dev"], out["test"], dims)
