"""MFN HDF5 releases (POM, YouTube, MMMO): fixtures in their exact structure, and the real files."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lmam.data import DataError, create_dataset
from lmam.data.mfn import mean_steps, read_h5, read_mfn

h5py = pytest.importorskip("h5py", reason="h5py (extra 'hdf5') is not installed")

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SIZES = {"train": 5, "valid": 3, "test": 4}
WIDTHS = {"audio": 74, "video": 36, "text": 300}


def h5(path: Path, array: np.ndarray, key: str = "d1") -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset(key, data=array)


def steps(n: int, width: int, seed: int) -> np.ndarray:
    """(n, 20, width) with the first 5 steps of every video zero padding."""
    x = np.random.default_rng(seed).normal(size=(n, 20, width))
    x[:, :5] = 0
    return x


def write_release(root: Path, name: str, text_splits: tuple[str, ...] = ("valid", "test")) -> Path:
    """The files of an MFN release; ``text_splits`` are those published with text."""
    root.mkdir()
    for i, (split, n) in enumerate(SIZES.items()):
        h5(root / f"audio_{split}.h5", steps(n, WIDTHS["audio"], i))
        h5(root / f"video_{split}.h5", steps(n, WIDTHS["video"], 10 + i))
        if split in text_splits:
            h5(root / f"text_{split}_emb.h5", steps(n, WIDTHS["text"], 20 + i))
        if name == "youtube":
            y = np.eye(3, dtype=np.float32)[np.arange(n) % 3]
        elif name == "pom":
            y = 1 + 6 * np.random.default_rng(i).random((n, 17))
        else:
            y = 1.0 + np.arange(n) % 5
        h5(root / f"y_{split}.h5", y)
    return root


def test_youtube_like_release(tmp_path: Path) -> None:
    root = write_release(tmp_path / "yt", "youtube")
    ds = create_dataset("youtube", root)
    assert {s: len(c) for s, c in ds.splits.items()} == SIZES
    assert ds.modalities == {"audio": 74, "visual": 36}
    c = ds.train[4]
    assert len(c) == 1 and c.id == "train-0004" and c.labels.tolist() == [1]
    assert c.labels.dtype == np.int64 and ds.label_names == ["class0", "class1", "class2"]
    raw = read_h5(root / "audio_train.h5")[4, 5:]
    np.testing.assert_allclose(c.feats["audio"][0], raw.mean(axis=0), rtol=1e-6)
    assert ds.warning is not None
    assert "text is missing" in ds.warning and "text_valid_emb.h5, text_test_emb.h5" in ds.warning
    assert "not for train" in ds.warning


def test_pom_like_release_has_no_text(tmp_path: Path) -> None:
    ds = create_dataset("pom", write_release(tmp_path / "pom", "pom", text_splits=()))
    assert ds.task == "regression" and ds.label_names == []
    assert ds.test[0].labels.shape == (1, 17) and ds.test[0].labels.dtype == np.float32
    assert ds.warning == "text is missing: the release has no text features."
    assert all(k in ds.provenance for k in ("sha256:y_test.h5", "sha256:audio_valid.h5"))


def test_text_in_every_split_is_kept(tmp_path: Path) -> None:
    root = write_release(tmp_path / "mmmo", "mmmo", text_splits=("train", "valid", "test"))
    ds = read_mfn(root, "mmmo")
    assert ds.modalities == {"text": 300, "audio": 74, "visual": 36} and ds.warning is None
    assert ds.valid[2].labels.tolist() == [3.0] and ds.valid[2].labels.shape == (1,)


def test_mean_leaves_padding_out() -> None:
    audio = np.zeros((2, 20, 2))
    video = np.zeros((2, 20, 1))
    audio[0, 10:] = [1.0, 3.0]
    video[0, 8] = 5.0  # a step where only video has data counts for audio too (as zeros)
    out = mean_steps({"audio": audio, "visual": video})
    np.testing.assert_allclose(out["audio"][0], [10 / 11, 30 / 11], rtol=1e-6)
    np.testing.assert_allclose(out["visual"][0], [5 / 11], rtol=1e-6)
    assert not out["audio"][1].any() and out["audio"].dtype == np.float32


def test_all_zero_videos_are_counted_in_the_warning(tmp_path: Path) -> None:
    root = write_release(tmp_path / "yt", "youtube")
    for m in ("audio", "video"):
        x = read_h5(root / f"{m}_test.h5")
        x[1:3] = 0
        h5(root / f"{m}_test.h5", x)
    ds = read_mfn(root, "youtube")
    assert ds.warning is not None and "0 of 5 train, 0 of 3 valid, 2 of 4 test" in ds.warning


def expect(root: Path, name: str, file: str, field: str | None, words: str) -> None:
    with pytest.raises(DataError, match=words) as info:
        read_mfn(root, name)
    assert info.value.file == str(root / file) and info.value.field == field


def test_not_one_hot(tmp_path: Path) -> None:
    root = write_release(tmp_path / "yt", "youtube")
    y = read_h5(root / "y_valid.h5")
    y[2] = [0, 1, 1]
    h5(root / "y_valid.h5", y)
    expect(root, "youtube", "y_valid.h5", "labels", "row 2 is not one-hot")


def test_video_count_mismatch(tmp_path: Path) -> None:
    root = write_release(tmp_path / "pom", "pom")
    h5(root / "video_test.h5", steps(3, 36, 0))
    expect(root, "pom", "video_test.h5", "visual", "3 videos, but audio has 4")


def test_wrong_number_of_steps(tmp_path: Path) -> None:
    root = write_release(tmp_path / "mmmo", "mmmo")
    h5(root / "audio_train.h5", np.zeros((5, 19, 74)))
    expect(root, "mmmo", "audio_train.h5", "audio", r"want \(N, 20, D\)")


def test_wrong_labels_shape(tmp_path: Path) -> None:
    root = write_release(tmp_path / "pom", "pom")
    h5(root / "y_train.h5", np.ones(5))
    expect(root, "pom", "y_train.h5", "labels", "want 5 labels of 2 dimension")


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    root = write_release(tmp_path / "mmmo", "mmmo")
    (root / "video_valid.h5").write_text("not hdf5")
    expect(root, "mmmo", "video_valid.h5", None, "unreadable HDF5 file")
    (root / "y_test.h5").unlink()
    (root / "video_valid.h5").unlink()
    h5(root / "video_valid.h5", steps(3, 36, 0), key="other")
    expect(root, "mmmo", "video_valid.h5", None, "no dataset 'd1' or 'data'")


def test_non_finite_values_name_the_video(tmp_path: Path) -> None:
    root = write_release(tmp_path / "pom", "pom")
    x = read_h5(root / "audio_valid.h5")
    x[1, 7, 3] = np.nan
    h5(root / "audio_valid.h5", x)
    with pytest.raises(DataError, match="non-finite") as info:
        read_mfn(root, "pom")
    assert (info.value.dialogue, info.value.field) == ("valid-0001", "feats.audio")


def test_missing_h5py_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_release(tmp_path / "pom", "pom")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install 'lmam\[hdf5\]'"):
        read_mfn(root, "pom")


@pytest.mark.skipif(not (SHARED / "pom").is_dir(), reason=f"shared data absent: {SHARED}")
def test_real_releases() -> None:
    pom = create_dataset("pom", SHARED / "pom")
    youtube = create_dataset("youtube", SHARED / "youtube")
    mmmo = create_dataset("mmmo", SHARED / "mmmo")
    sizes = {ds.name: tuple(len(ds.splits[s]) for s in SIZES) for ds in (pom, youtube, mmmo)}
    assert sizes == {"pom": (600, 100, 203), "youtube": (173, 36, 60), "mmmo": (220, 40, 80)}
    assert pom.modalities == {"audio": 43, "visual": 41} and pom.train[0].labels.shape == (1, 17)
    assert youtube.modalities == mmmo.modalities == {"audio": 74, "visual": 36}
    assert np.bincount([int(c.labels[0]) for c in youtube.train]).tolist() == [72, 43, 58]
    assert youtube.warning is not None and "125 of 173 train" in youtube.warning
    assert all("text is missing" in (ds.warning or "") for ds in (pom, youtube, mmmo))


@pytest.mark.skipif(not (SHARED / "mosi" / "mfn").is_dir(), reason=f"shared data absent: {SHARED}")
def test_real_mosi_label_files_use_key_data() -> None:
    sizes = [read_h5(SHARED / "mosi" / "mfn" / f"y_{s}.h5").shape for s in SIZES]
    assert sizes == [(1284,), (229,), (686,)]
