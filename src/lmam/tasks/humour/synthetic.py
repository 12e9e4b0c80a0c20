"""A tiny UR-FUNNY look-alike in the published pickle structure (for tests and demos).

The values are random; the label is written into a few feature columns so
that a model can learn it. Nothing here resembles the real data's statistics.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from lmam.outputs import atomic_write
from lmam.tasks.humour.data import EMBEDDINGS_FILE, FEATURE_FILES, FOLDS_FILE, LABELS_FILE

WIDTHS = {"text": 300, "audio": 81, "visual": 371}


def _dump(path: Path, obj: object) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, protocol=2)

    atomic_write(path, write)


def write_synthetic(
    directory: str | Path, *, segments: int = 40, vocab: int = 50, seed: int = 0
) -> Path:
    """Write the six pickles of a small UR-FUNNY-shaped dataset into ``directory``.

    Folds are 60 / 20 / 20 % of ``segments``; labels alternate 0 / 1.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    words = rng.normal(size=(vocab, WIDTHS["text"])).astype(np.float32)
    funny_words = np.arange(vocab // 2, vocab)
    ids = [f"seg{k:04d}" for k in range(segments)]
    labels = {i: k % 2 for k, i in enumerate(ids)}
    language: dict[str, dict[str, object]] = {}
    feats: dict[str, dict[str, dict[str, object]]] = {m: {} for m in FEATURE_FILES}
    for i in ids:
        y = labels[i]

        def sentence(funny: bool) -> list[int]:
            pool = funny_words if funny else np.arange(vocab // 2)
            return [int(w) for w in rng.choice(pool, int(rng.integers(2, 7)))]

        punch = sentence(bool(y))
        context = [sentence(bool(rng.integers(2))) for _ in range(int(rng.integers(0, 4)))]
        language[i] = {
            "punchline_embedding_indexes": punch,
            "context_embedding_indexes": context,
            "punchline_sentence": " ".join(f"w{w}" for w in punch),
            "context_sentences": [" ".join(f"w{w}" for w in s) for s in context],
            "punchline_intervals": [[0.1 * k, 0.1 * k + 0.1] for k in range(len(punch))],
            "context_intervals": [
                [[0.1 * k, 0.1 * k + 0.1] for k in range(len(s))] for s in context
            ],
        }
        for m in FEATURE_FILES:

            def block(n: int, shift: float, m: str = m) -> np.ndarray:
                x = rng.normal(size=(n, WIDTHS[m])).astype(np.float32)
                x[:, :4] += shift
                return x

            feats[m][i] = {
                "punchline_features": block(len(punch), 1.5 * y),
                "context_features": [block(len(s), 0.0) for s in context],
            }
    n_train, n_dev = int(segments * 0.6), int(segments * 0.2)
    folds = {
        "train": ids[:n_train],
        "dev": ids[n_train : n_train + n_dev],
        "test": ids[n_train + n_dev :],
    }
    _dump(directory / FOLDS_FILE, folds)
    _dump(directory / "language_sdk.pkl", language)
    _dump(directory / EMBEDDINGS_FILE, [w for w in words])
    for m, name in FEATURE_FILES.items():
        _dump(directory / name, feats[m])
    _dump(directory / LABELS_FILE, labels)
    return directory
