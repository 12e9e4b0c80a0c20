"""lmam's own format: exact round trip, atomic writes, clear errors, no pickle."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from lmam.data import Conversation, ConversationDataset, DataError, create_dataset
from lmam.data.lmam_format import (
    FORMAT_VERSION,
    META,
    differences,
    is_ours,
    load_dataset,
    save_dataset,
)


def regression_fixture() -> ConversationDataset:
    """Texts (with odd characters), float (T, 3) labels, mixed feature dtypes, empty valid."""
    rng = np.random.default_rng(7)

    def conv(cid: str, t: int) -> Conversation:
        return Conversation(
            id=cid,
            feats={
                "text": rng.normal(size=(t, 5)).astype(np.float64),
                "audio": rng.normal(size=(t, 2)).astype(np.float16),
            },
            speakers=rng.integers(0, 3, size=t).astype(np.int32),
            labels=rng.normal(size=(t, 3)).astype(np.float32),
            texts=[f"it\x92s “quoted” é ✓ {i}" if i else "" for i in range(t)],
        )

    return ConversationDataset(
        name="mine",
        splits={"train": [conv("a", 3), conv("b", 1)], "valid": [], "test": [conv("c", 4)]},
        label_names=[],
        modalities={"text": 5, "audio": 2},
        task="regression",
        provenance={"z": "last key first", "source": "a test"},
        selection="last",
        epochs=12,
        warning="read me",
    )


def test_synthetic_round_trip_is_exact(tmp_path: Path) -> None:
    ds = create_dataset("synthetic", train=5, valid=2, test=3)
    back = load_dataset(save_dataset(ds, tmp_path / "s.npz"))
    assert differences(ds, back) == []
    for a, b in zip(ds.train, back.train):
        assert b.feats["text"].dtype == np.float32 and b.labels.dtype == np.int64
        assert a.feats["audio"].tobytes() == b.feats["audio"].tobytes()
        assert b.texts is None


def test_texts_float_labels_and_dtypes_round_trip(tmp_path: Path) -> None:
    ds = regression_fixture()
    back = load_dataset(save_dataset(ds, tmp_path / "r.npz"))
    assert differences(ds, back) == []
    c = back.test[0]
    assert c.labels.dtype == np.float32 and c.labels.shape == (4, 3)
    assert c.feats["audio"].dtype == np.float16 and c.speakers.dtype == np.int32
    assert c.texts == ds.test[0].texts and c.texts is not None and c.texts[0] == ""
    assert list(back.provenance) == ["z", "source"] and list(back.modalities) == ["text", "audio"]
    assert (back.selection, back.epochs, back.warning) == ("last", 12, "read me")
    assert back.valid == []


def test_differences_sees_every_kind_of_change() -> None:
    ds = regression_fixture()
    other = regression_fixture()
    x = other.train[0].feats["text"]
    x.view(np.uint64)[0, 0] ^= 1  # one bit
    other.test[0].texts = [*(other.test[0].texts or [])[:-1], "changed"]
    other.train[1].labels = other.train[1].labels.astype(np.float64)
    other.provenance = {"source": "a test", "z": "last key first"}  # same items, other order
    found = differences(ds, other)
    assert "train/a/feats.text: differs" in found
    assert "test/c/texts: differs" in found
    assert "train/b/labels: differs" in found
    assert any(f.startswith("provenance") for f in found)
    assert len(found) == 4


def test_is_ours(tmp_path: Path) -> None:
    path = save_dataset(regression_fixture(), tmp_path / "r.npz")
    assert is_ours(path)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    text = tmp_path / "t.txt"
    text.write_text("hello")
    assert not any(is_ours(p) for p in (other, text, tmp_path, tmp_path / "missing.npz"))


def test_registered_loader(tmp_path: Path) -> None:
    path = save_dataset(regression_fixture(), tmp_path / "r.npz")
    assert create_dataset("lmam", path).name == "mine"
    with pytest.raises(ValueError, match="needs a path"):
        create_dataset("lmam")


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_dataset(regression_fixture(), tmp_path / "r.npz")
    before = path.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        save_dataset(create_dataset("synthetic", train=2, valid=1, test=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]


def test_file_mode_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = save_dataset(regression_fixture(), tmp_path / "r.npz")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_invalid_dataset_is_not_written(tmp_path: Path) -> None:
    ds = regression_fixture()
    ds.train[0].feats["text"][1, 2] = np.nan
    with pytest.raises(DataError) as info:
        save_dataset(ds, tmp_path / "r.npz")
    assert (info.value.dialogue, info.value.field) == ("a", "feats.text")
    assert not (tmp_path / "r.npz").exists()


def test_header_is_checked_before_writing(tmp_path: Path) -> None:
    ds = regression_fixture()
    ds.selection = "best"  # type: ignore[assignment]
    with pytest.raises(DataError, match="not one of") as info:
        save_dataset(ds, tmp_path / "r.npz")
    assert info.value.field == "selection" and not (tmp_path / "r.npz").exists()


def test_mixed_dtypes_in_a_split_name_the_dialogue(tmp_path: Path) -> None:
    ds = regression_fixture()
    ds.train[1].feats["text"] = ds.train[1].feats["text"].astype(np.float32)
    with pytest.raises(DataError, match="differs") as info:
        save_dataset(ds, tmp_path / "r.npz")
    assert (info.value.dialogue, info.value.field) == ("b", "feats.text")


def test_bad_modality_name(tmp_path: Path) -> None:
    ds = create_dataset("synthetic", train=2, valid=1, test=1).select_modalities(["text"])
    ds.modalities = {"te/xt": 12}
    for split in ds.splits.values():
        for c in split:
            c.feats = {"te/xt": c.feats["text"]}
    with pytest.raises(DataError, match="modality name"):
        save_dataset(ds, tmp_path / "r.npz")


# --- damaged files -------------------------------------------------------------------


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def rewrite(path: Path, arrays: dict[str, np.ndarray], **meta_changes: object) -> Path:
    meta = json.loads(arrays[META].tobytes())
    meta.update(meta_changes)
    arrays = {**arrays, META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    out = path.with_name("damaged.npz")
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return out


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return save_dataset(regression_fixture(), tmp_path / "r.npz")


def expect(path: Path, words: str, dialogue: str | None = None, field: str | None = None) -> None:
    with pytest.raises(DataError, match=words) as info:
        load_dataset(path)
    assert info.value.file == str(path)
    assert (info.value.dialogue, info.value.field) == (dialogue, field)


def test_newer_version_says_upgrade(good: Path) -> None:
    bad = rewrite(good, arrays_of(good), format_version=FORMAT_VERSION + 1)
    expect(bad, "format_version 2: this lmam reads version 1; upgrade lmam", field="format_version")


def test_not_our_format(good: Path) -> None:
    expect(rewrite(good, arrays_of(good), format="something-else"), "not an lmam dataset")
    arrays = arrays_of(good)
    arrays[META] = arrays["train.lengths"]
    out = good.with_name("int-meta.npz")
    np.savez(out, **arrays)  # type: ignore[arg-type]
    expect(out, "no metadata", field=META)


def test_corrupt_metadata(good: Path) -> None:
    arrays = arrays_of(good)
    arrays[META] = np.frombuffer(b"{not json", dtype=np.uint8)
    out = good.with_name("damaged.npz")
    np.savez(out, **arrays)  # type: ignore[arg-type]
    expect(out, "corrupt metadata", field=META)


def test_wrong_metadata_type_or_value(good: Path) -> None:
    expect(rewrite(good, arrays_of(good), epochs="forty"), "wrong type", field="epochs")
    expect(rewrite(good, arrays_of(good), task="ranking"), "not one of", field="task")


def test_missing_and_short_arrays(good: Path) -> None:
    arrays = arrays_of(good)
    del arrays["test.feats.audio"]
    expect(rewrite(good, arrays), "missing", field="test.feats.audio")
    arrays = arrays_of(good)
    arrays["train.labels"] = arrays["train.labels"][:-1]
    expect(rewrite(good, arrays), "3 rows for 4 utterances", field="train.labels")


def test_content_is_validated(good: Path) -> None:
    arrays = arrays_of(good)
    arrays["test.feats.text"][2, 0] = np.inf
    expect(rewrite(good, arrays), "non-finite", dialogue="c", field="feats.text")


def test_texts_of_the_wrong_length(good: Path) -> None:
    arrays = arrays_of(good)
    meta = json.loads(arrays[META].tobytes())
    meta["splits"]["test"]["texts"][0] = ["only one"]
    expect(rewrite(good, arrays, splits=meta["splits"]), "want 4 strings", "c", "texts")


def test_unreadable_files(tmp_path: Path, good: Path) -> None:
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    expect(truncated, "not a readable lmam dataset file")
    text = tmp_path / "t.npz"
    text.write_text("hello")
    expect(text, "not a readable lmam dataset file")
    bare = tmp_path / "bare.npy"
    np.save(bare, np.zeros(3))
    expect(bare, "bare .npy")
    expect(tmp_path / "missing.npz", "no such file")


def test_pickled_members_are_refused(tmp_path: Path, good: Path) -> None:
    arrays = arrays_of(good)
    arrays["train.labels"] = np.array([object()] * 4, dtype=object)
    out = tmp_path / "objects.npz"
    np.savez(out, **arrays)  # type: ignore[arg-type]
    expect(out, "not a readable lmam dataset file")
    plain = tmp_path / "plain.npz"
    plain.write_bytes(pickle.dumps({"x": 1}))
    expect(plain, "not a readable lmam dataset file")
