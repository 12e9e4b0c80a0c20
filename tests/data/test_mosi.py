"""CMU-MOSI bc-LSTM: fixtures in the exact structure of the release, the bundle, the real files."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import numpy as np
import pytest

from lmam.data import DataError, create_dataset
from lmam.data.mosi import EPOCHS, MODALITIES, bundled_path, read_bclstm, with_valid
from lmam.data.ours import differences, load_dataset

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BCLSTM = SHARED / "mosi" / "bclstm"
RESOURCES = Path(__file__).resolve().parents[2] / "src" / "lmam" / "resources"

# (video, number of utterances); labels alternate, k runs past 9 to test numeric order.
TRAIN = [("vidA", 11), ("vid_B", 3), ("vidC", 2)]
TEST = [("vidD", 4), ("vidE", 2)]


def _write(path: Path, rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)


def label(video: str, k: int) -> int:
    return (k + len(video)) % 2


def feature(video: str, k: int, modality: str) -> np.ndarray:
    seed = sum(map(ord, f"{video}{k}{modality}"))
    return np.random.default_rng(seed).normal(size=MODALITIES[modality][1])


def write_release(root: Path, with_pickle: bool = True) -> Path:
    """A small bclstm directory: transcripts, text_{split}.csv, per-modality CSVs, audio.pickle."""
    videos = {"train": TRAIN, "test": TEST}
    utterances = [(v, k) for split in videos.values() for v, n in split for k in range(1, n + 1)]
    transcripts = sorted(utterances, key=lambda u: f"{u[0]}_{u[1]}")  # string order, as released
    _write(
        root / "data" / "transcripts.csv",
        [[f"{v}_{k}", f"TEXT OF {v} {k}", 93, label(v, k)] for v, k in transcripts],
    )
    for split, vids in videos.items():
        order = [(v, k) for v, n in vids for k in range(1, n + 1)]
        order = [order[i] for i in np.random.default_rng(1).permutation(len(order))]  # shuffled
        rows = [[transcripts.index(u), *feature(*u, "text")] for u in order]
        _write(root / "data" / f"text_{split}.csv", rows)
        for modality, (stem, _) in MODALITIES.items():
            rows = [[*feature(*u, modality), label(*u)] for u in order]
            _write(root / "data" / stem / f"{stem}_{split}0.csv", rows)
    (root / "LICENSE.soujanyaporia-multimodal-sentiment-analysis").write_text("MIT\n")
    if with_pickle:
        (root / "input").mkdir()
        (root / "input" / "audio.pickle").write_bytes(pickle.dumps(padded_audio(), protocol=2))
    return root


def padded_audio(swap: bool = False) -> tuple:
    """The 7-tuple of input/audio.pickle: videos in reverse order, padded to 12 utterances."""
    out: list = []
    for vids in (TRAIN, TEST):
        x, y = np.zeros((len(vids), 12, 73)), np.zeros((len(vids), 12))
        for j, (v, n) in enumerate(reversed(vids)):
            ks = list(range(1, n + 1))
            if swap and j == 0:
                ks[0], ks[1] = ks[1], ks[0]
            x[j, :n] = [feature(v, k, "audio") for k in ks]
            y[j, :n] = [label(v, k) for k in ks]
        out += [x, y]
    lengths = [[n for _, n in reversed(vids)] for vids in (TRAIN, TEST)]
    return (out[0], out[1], out[2], out[3], 12, *lengths)


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "bclstm")


def test_reads_the_fixture(release: Path) -> None:
    ds = read_bclstm(release)
    assert [c.id for c in ds.train] != [] and ds.valid == []
    assert sorted(c.id for c in ds.train) == sorted(v for v, _ in TRAIN)
    assert {c.id: len(c) for c in ds.test} == dict(TEST)
    a = next(c for c in ds.train if c.id == "vidA")
    assert a.texts == [f"TEXT OF vidA {k}" for k in range(1, 12)]  # 1, 2, ..., 10, 11
    assert a.labels.tolist() == [label("vidA", k) for k in range(1, 12)]
    assert a.labels.dtype == np.int64 and not a.speakers.any()
    for modality in MODALITIES:
        want = np.array([feature("vidA", k, modality) for k in range(1, 12)], dtype=np.float32)
        assert np.array_equal(a.feats[modality], want)
    assert ds.modalities == {"text": 100, "audio": 73, "visual": 100}
    assert ds.label_names == ["negative", "positive"]
    assert (ds.selection, ds.epochs) == ("last", EPOCHS)
    assert (
        ds.warning is not None and "0.98" in ds.warning and "fixed number of epochs" in ds.warning
    )
    assert ds.provenance["canonical_files"].startswith("no")
    assert ds.provenance["checked_against"].startswith("input/audio.pickle")


def test_pickle_is_optional(tmp_path: Path) -> None:
    ds = read_bclstm(write_release(tmp_path / "b", with_pickle=False))
    assert "checked_against" not in ds.provenance and len(ds.train) == len(TRAIN)


def test_valid_split_is_carved_from_train_by_seed(release: Path) -> None:
    a = create_dataset("mosi-bclstm", release)
    b = create_dataset("mosi-bclstm", release, seed=0)
    assert [len(a.splits[s]) for s in ("train", "valid", "test")] == [2, 1, 2]
    assert differences(a, b) == []
    seeds = {tuple(c.id for c in create_dataset("mosi", release, seed=s).valid) for s in range(8)}
    assert len(seeds) > 1
    assert "carved from train" in a.provenance["valid"]
    assert with_valid(a, 0.5, 1) is a  # already has one


def expect(path: Path, words: str, dialogue: str | None, field: str | None) -> None:
    with pytest.raises(DataError, match=words) as info:
        read_bclstm(path.parents[2] if path.parent.name != "data" else path.parents[1])
    assert info.value.file == str(path)
    assert (info.value.dialogue, info.value.field) == (dialogue, field)


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def edit(path: Path, row: int, column: int, value: str) -> None:
    rows = rows_of(path)
    rows[row][column] = value
    _write(path, rows)


def test_disagreeing_label_names_the_file_and_video(release: Path) -> None:
    path = release / "data" / "video" / "video_test0.csv"
    edit(path, 0, -1, str(1 - int(rows_of(path)[0][-1])))
    expect(path, "transcripts.csv says", video_of_row(release, "test", 0), "label")


def video_of_row(release: Path, split: str, row: int) -> str:
    index = int(rows_of(release / "data" / f"text_{split}.csv")[row][0])
    return rows_of(release / "data" / "transcripts.csv")[index][0].rpartition("_")[0]


def test_text_files_disagree(release: Path) -> None:
    path = release / "data" / "text_train.csv"
    edit(path, 5, 7, "123.5")
    expect(path, "row 5: text features differ", video_of_row(release, "train", 5), "text")


def test_repeated_utterance(release: Path) -> None:
    path = release / "data" / "text_test.csv"
    rows = rows_of(path)
    edit(path, 1, 0, rows[0][0])
    expect(path, "utterance position repeated", video_of_row(release, "test", 0), "utterance_id")


def test_missing_row(release: Path) -> None:
    path = release / "data" / "audio" / "audio_train0.csv"
    _write(path, rows_of(path)[:-1])
    expect(path, "15 rows, but text_train.csv has 16", None, "audio")


def test_short_row(release: Path) -> None:
    path = release / "data" / "audio" / "audio_test0.csv"
    rows = rows_of(path)
    rows[1] = rows[1][:-2]
    _write(path, rows)
    expect(path, "row 1 has 72 columns, want 74", None, "audio")


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "words", "dialogue", "field"),
    [
        ("text/text_train0.csv", 3, 5, "zero", "row 3", None, "text"),
        ("text_test.csv", 2, 0, "9999", "is not a row of transcripts.csv", None, "transcript_row"),
        (
            "transcripts.csv",
            4,
            0,
            "no-position",
            "want '<video>_<k>'",
            "no-position",
            "utterance_id",
        ),
        ("transcripts.csv", 1, 3, "2", "0/1 label", "vidA", "label"),
    ],
)
def test_bad_cell(
    release: Path,
    file: str,
    row: int,
    column: int,
    value: str,
    words: str,
    dialogue: str | None,
    field: str,
) -> None:
    path = release / "data" / file
    edit(path, row, column, value)
    expect(path, words, dialogue, field)


def test_missing_file(release: Path) -> None:
    path = release / "data" / "video" / "video_train0.csv"
    path.unlink()
    expect(path, "missing file", None, None)


def test_audio_pickle_in_another_order_is_refused(release: Path) -> None:
    path = release / "input" / "audio.pickle"
    path.write_bytes(pickle.dumps(padded_audio(swap=True), protocol=2))
    with pytest.raises(DataError, match="same audio and labels") as info:
        read_bclstm(release)
    assert (info.value.file, info.value.field) == (str(path), "audio")


def test_audio_pickle_is_never_unpickled_with_code(release: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    path = release / "input" / "audio.pickle"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(DataError, match="refused"):
        read_bclstm(release)


def test_bundle_ships_with_the_package() -> None:
    ds = create_dataset("mosi")
    assert [len(ds.splits[s]) for s in ("train", "valid", "test")] == [56, 6, 31]
    assert sum(len(c) for c in ds.train + ds.valid) == 1447
    assert sum(len(c) for c in ds.test) == 752
    assert ds.selection == "last" and ds.epochs == EPOCHS and ds.warning
    assert ds.provenance["canonical_files"] == "yes"
    assert "soujanyaporia/multimodal-sentiment-analysis" in ds.provenance["also_published_in"]
    assert "MIT" in (RESOURCES / "LICENSE.mosi").read_text()
    assert "declare-lab" in (RESOURCES / "PROVENANCE.mosi").read_text()
    with bundled_path() as path:
        assert path.stat().st_size < 4_000_000
        assert differences(create_dataset("mosi", path), ds) == []


@pytest.mark.skipif(not BCLSTM.is_dir(), reason=f"shared data absent: {BCLSTM}")
def test_real_release_counts_and_bundle_round_trip() -> None:
    ds = read_bclstm(BCLSTM)
    counts = {s: (len(c), sum(len(x) for x in c)) for s, c in ds.splits.items()}
    assert counts == {"train": (62, 1447), "valid": (0, 0), "test": (31, 752)}
    y = {
        s: np.bincount(np.concatenate([c.labels for c in ds.splits[s]])) for s in ("train", "test")
    }
    assert y["train"].tolist() == [738, 709] and y["test"].tolist() == [285, 467]
    assert ds.provenance["canonical_files"] == "yes"
    assert "checked_against" in ds.provenance
    with bundled_path() as path:
        assert differences(load_dataset(path), ds) == []
    assert differences(create_dataset("mosi"), create_dataset("mosi-bclstm", BCLSTM)) == []
