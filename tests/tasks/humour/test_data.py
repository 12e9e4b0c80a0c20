"""The UR-FUNNY reader on pickles written here in the published structure."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from lmam.data.errors import DataError
from lmam.tasks.humour.data import load_urfunny


def write_fixture(d: Path, *, language_name: str = "language_sdk.pkl") -> None:
    """Two segments per fold, in the structure of the dataset's README."""
    d.mkdir(parents=True, exist_ok=True)
    ids = ["1", "2", "3", "4", "5", "6"]
    dump = lambda name, obj: pickle.dump(obj, open(d / name, "wb"), protocol=2)  # noqa: E731, SIM115
    dump("data_folds.pkl", {"train": ids[:2], "dev": ids[2:4], "test": ids[4:]})
    dump("word_embedding_list.pkl", [np.full(300, k, dtype=np.float32) for k in range(10)])
    language, covarep, openface = {}, {}, {}
    for k, i in enumerate(ids):
        context = [[1, 2], [3, 4, 5]] if k % 2 else []
        language[i] = {
            "punchline_embedding_indexes": [k, k + 1, k + 2],
            "context_embedding_indexes": context,
            "punchline_sentence": "a b c",
            "context_sentences": ["d e", "f g h"][: len(context)],
            "punchline_intervals": [[0, 1], [1, 2], [2, 3]],
            "context_intervals": [[[0, 1]] * len(s) for s in context],
        }
        covarep[i] = {
            "punchline_features": [[float(k)] * 81] * 3,  # lists, as in the README
            "context_features": [np.ones((len(s), 81)) for s in context],
        }
        openface[i] = {
            "punchline_features": np.zeros((3, 371)),
            "context_features": [np.zeros((len(s), 371)) for s in context],
        }
    covarep["1"]["punchline_features"][0][0] = float("-inf")  # COVAREP has some
    dump(language_name, language)
    dump("covarep_features_sdk.pkl", covarep)
    dump("openface_features_sdk.pkl", openface)
    dump("humor_label_sdk.pkl", {i: k % 2 for k, i in enumerate(ids)})


def test_reads_the_published_structure(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    data = load_urfunny(tmp_path)
    assert [len(data.train), len(data.dev), len(data.test)] == [2, 2, 2]
    assert data.dims == {"text": 300, "audio": 81, "visual": 371}
    s = data.train[1]
    assert s.id == "2" and s.label == 1
    assert s.punchline["text"][:, 0].tolist() == [1, 2, 3]  # word vectors by index
    assert s.punchline["audio"].shape == (3, 81) and s.punchline["visual"].shape == (3, 371)
    assert len(s.context) == 2 and s.context[1]["text"].shape == (3, 300)
    assert s.context[1]["audio"].shape == (3, 81)
    assert data.train[0].context == []
    assert np.isfinite(data.train[0].punchline["audio"]).all()
    assert len(load_urfunny(tmp_path, max_context=1).train[1].context) == 1
    assert load_urfunny(tmp_path, max_words=2).train[1].punchline["text"].shape == (2, 300)


def test_v1_language_file_name(tmp_path: Path) -> None:
    write_fixture(tmp_path, language_name="word_embedding_indexes_sdk.pkl")
    assert len(load_urfunny(tmp_path).test) == 2


def _rewrite(d: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    with open(d / name, "rb") as f:
        obj = pickle.load(f)  # our own fixture
    change(obj)
    with open(d / name, "wb") as f:
        pickle.dump(obj, f)


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("data_folds.pkl", lambda o: o.pop("dev"), "data_folds.pkl: field 'dev'"),
        ("humor_label_sdk.pkl", lambda o: o.pop("3"), "humor_label_sdk.pkl: segment '3': missing"),
        ("humor_label_sdk.pkl", lambda o: o.update({"1": 2}), "label must be 0 or 1"),
        (
            "language_sdk.pkl",
            lambda o: o["1"].pop("punchline_embedding_indexes"),
            "language_sdk.pkl: field 'punchline_embedding_indexes': segment '1': missing",
        ),
        (
            "language_sdk.pkl",
            lambda o: o["2"].update(punchline_embedding_indexes=[99]),
            "word index out of range",
        ),
        (
            "covarep_features_sdk.pkl",
            lambda o: o["2"].update(punchline_features=np.zeros((3, 80))),
            r"covarep_features_sdk.pkl: field 'punchline_features': segment '2': expected shape \(n_words, 81\)",
        ),
        (
            "openface_features_sdk.pkl",
            lambda o: o["2"].update(context_features=[]),
            "expected 2 context sentences",
        ),
    ],
)
def test_bad_files_name_file_segment_and_field(tmp_path: Path, name, change, message) -> None:  # type: ignore[no-untyped-def]
    write_fixture(tmp_path)
    _rewrite(tmp_path, name, change)
    with pytest.raises(DataError, match=message):
        load_urfunny(tmp_path)


def test_missing_and_unsafe(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        load_urfunny(tmp_path / "none")
    write_fixture(tmp_path)
    os.remove(tmp_path / "language_sdk.pkl")
    with pytest.raises(DataError, match=r"no language_sdk\.pkl or word_embedding_indexes_sdk\.pkl"):
        load_urfunny(tmp_path)
    write_fixture(tmp_path)
    with open(tmp_path / "humor_label_sdk.pkl", "wb") as f:
        pickle.dump(os.getcwd, f)
    with pytest.raises(DataError, match="refused to load"):
        load_urfunny(tmp_path)
