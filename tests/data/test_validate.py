"""validate_dataset: every problem is a DataError naming file, dialogue and field."""

from __future__ import annotations

import numpy as np
import pytest

from lmam.data import Conversation, ConversationDataset, DataError, create_dataset
from lmam.data.validate import validate_dataset

FILE = "feats.pkl"


def conv(cid: str, t: int = 3, text: int = 4, audio: int = 2) -> Conversation:
    rng = np.random.default_rng(0)
    return Conversation(
        id=cid,
        feats={
            "text": rng.normal(size=(t, text)).astype(np.float32),
            "audio": rng.normal(size=(t, audio)).astype(np.float32),
        },
        speakers=np.zeros(t, dtype=np.int64),
        labels=np.arange(t, dtype=np.int64) % 3,
        texts=[f"u{i}" for i in range(t)],
    )


def dataset(
    train: list[Conversation], test: list[Conversation] | None = None
) -> ConversationDataset:
    return ConversationDataset(
        name="toy",
        splits={"train": train, "valid": [], "test": test if test is not None else [conv("te0")]},
        label_names=["a", "b", "c"],
        modalities={"text": 4, "audio": 2},
    )


def check_error(
    ds: ConversationDataset, dialogue: str | None, field: str | None, words: str
) -> None:
    with pytest.raises(DataError) as info:
        validate_dataset(ds, FILE)
    err = info.value
    assert err.file == FILE
    assert err.dialogue == dialogue
    assert err.field == field
    assert words in str(err), str(err)
    assert FILE in str(err)


def test_a_good_dataset_passes() -> None:
    validate_dataset(dataset([conv("a"), conv("b", t=5)]), FILE)


def test_the_synthetic_dataset_passes() -> None:
    validate_dataset(create_dataset("synthetic", train=4, valid=2, test=2), "synthetic")


def test_texts_free_dataset_without_features_passes() -> None:
    c = Conversation("a", {}, np.array([0, 1]), np.array([0, 1]), ["hi", "yo"])
    ds = ConversationDataset("t", {"train": [c], "valid": [], "test": []}, ["x", "y"], {})
    validate_dataset(ds, FILE)


def test_unlabelled_utterances_marked_with_ignore_index_pass() -> None:
    c = conv("a")
    c.labels[1] = -100
    validate_dataset(dataset([c]), FILE)


def test_feature_rows_disagree_with_utterances() -> None:
    c = conv("a")
    c.feats["audio"] = c.feats["audio"][:2]
    check_error(dataset([c]), "a", "feats.audio", "2 rows but 3 utterances")


def test_labels_length_disagrees() -> None:
    c = conv("a")
    c.labels = c.labels[:2]
    check_error(dataset([c]), "a", "labels", "2 labels but 3 utterances")


def test_texts_length_disagrees() -> None:
    c = conv("a")
    c.texts = ["only one"]
    check_error(dataset([c]), "a", "texts", "1 text but 3 utterances")


def test_non_string_text() -> None:
    c = conv("a")
    c.texts = ["x", 3, "y"]  # type: ignore[list-item]
    check_error(dataset([c]), "a", "texts", "utterance 1 is a int")


def test_non_finite_values_name_the_utterance() -> None:
    c = conv("b")
    c.feats["text"][2, 1] = np.nan
    check_error(dataset([conv("a"), c]), "b", "feats.text", "non-finite value nan at utterance 2")


def test_infinite_value() -> None:
    c = conv("b")
    c.feats["audio"][0, 0] = -np.inf
    check_error(dataset([c]), "b", "feats.audio", "non-finite value -inf at utterance 0")


@pytest.mark.parametrize("bad", [3, -1, 7])
def test_labels_out_of_range(bad: int) -> None:
    c = conv("a")
    c.labels[1] = bad
    check_error(dataset([c]), "a", "labels", f"label {bad} at utterance 1 is out of range [0, 3)")


def test_float_labels_for_classification() -> None:
    c = conv("a")
    c.labels = c.labels.astype(np.float32)
    check_error(dataset([c]), "a", "labels", "integer class ids")


def test_inconsistent_width() -> None:
    c = conv("b", text=5)
    check_error(
        dataset([conv("a"), c]), "b", "feats.text", "width 5, but the dataset's text width is 4"
    )


def test_missing_modality() -> None:
    c = conv("a")
    del c.feats["audio"]
    check_error(dataset([c]), "a", "feats.audio", "missing modality")


def test_undeclared_modality() -> None:
    c = conv("a")
    c.feats["visual"] = np.zeros((3, 1), dtype=np.float32)
    check_error(dataset([c]), "a", "feats.visual", "not declared")


def test_one_dimensional_features() -> None:
    c = conv("a")
    c.feats["text"] = np.zeros(3, dtype=np.float32)
    check_error(dataset([c]), "a", "feats.text", "expected a (T, D) matrix")


def test_empty_dialogue() -> None:
    c = Conversation(
        "e",
        {"text": np.zeros((0, 4), np.float32), "audio": np.zeros((0, 2), np.float32)},
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
    )
    check_error(dataset([conv("a"), c]), "e", "speakers", "empty dialogue")


def test_negative_speaker() -> None:
    c = conv("a")
    c.speakers[2] = -1
    check_error(dataset([c]), "a", "speakers", "negative speaker id -1 at utterance 2")


def test_duplicate_ids_in_a_split() -> None:
    check_error(dataset([conv("a"), conv("a")]), "a", "id", "duplicate dialogue id")


def test_id_in_two_splits() -> None:
    check_error(dataset([conv("a")], [conv("a")]), "a", "id", "two splits: train and test")


def test_non_string_id() -> None:
    c = conv("a")
    c.id = 7  # type: ignore[assignment]
    check_error(dataset([c]), None, "id", "not a non-empty string")


def test_unknown_split() -> None:
    ds = dataset([conv("a")])
    ds.splits["dev"] = []
    check_error(ds, None, None, "unknown split 'dev'")


def test_bad_declared_width() -> None:
    ds = dataset([conv("a")])
    ds.modalities["audio"] = 0
    check_error(ds, None, "feats.audio", "not a positive integer")


def test_field_names_rename_fields_in_messages() -> None:
    c = conv("a")
    c.feats["audio"][0, 0] = np.nan
    with pytest.raises(DataError) as info:
        validate_dataset(dataset([c]), FILE, field_names={"feats.audio": "videoAudio"})
    assert info.value.field == "videoAudio"
    assert "field 'videoAudio'" in str(info.value)


def regression(labels: list[np.ndarray]) -> ConversationDataset:
    convs = [Conversation(f"r{i}", {}, np.zeros(len(y), np.int64), y) for i, y in enumerate(labels)]
    return ConversationDataset("r", {"train": convs}, [], {}, task="regression")


def test_regression_targets_pass() -> None:
    validate_dataset(regression([np.zeros((2, 3), np.float32), np.ones((4, 3), np.float32)]), FILE)


def test_regression_target_shapes_must_agree() -> None:
    ds = regression([np.zeros((2, 3), np.float32), np.ones((4, 2), np.float32)])
    check_error(ds, "r1", "labels", "targets of shape")


def test_regression_targets_must_be_finite() -> None:
    y = np.zeros(3, np.float32)
    y[1] = np.nan
    check_error(regression([y]), "r0", "labels", "non-finite value nan at utterance 1")
