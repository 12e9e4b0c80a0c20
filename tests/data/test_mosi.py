"""CMU-MOSI bc-LSTM: fixtures in the exact structure of the release, the bundle, the real files."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import numpy as np
import pytest

from lmam.data import DataError, create_dataset
from lmam.data.lmam_format import differences, load_dataset
from lmam.data.mosi import (
    EPOCHS,
    LABELS_FILE,
    MODALITIES,
    SENTIMENT_RESOURCE,
    bundled_path,
    load_mosi,
    read_bclstm,
    read_bundled_sentiment,
    read_sentiment,
    with_valid,
)
from lmam.errors import OptionError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BCLSTM = SHARED / "mosi" / "bclstm"
LABELS = SHARED / "mosi" / "labels" / LABELS_FILE
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


def test_a_tail_split_keeps_the_first_videos_for_training() -> None:
    """The cima recipe's source trains on the first int(62 x 0.8) = 49 training videos."""
    from lmam.train.recipes import get_recipe

    options = get_recipe("cima").settings["dataset_options"]
    ds = create_dataset("mosi", **options)
    with bundled_path() as bundle:
        published = [c.id for c in load_dataset(bundle).train]  # the bundle's own order
    assert (len(ds.train), len(ds.valid)) == (49, 13)
    assert [c.id for c in ds.train + ds.valid] == published
    assert "last 13 of 62" in ds.provenance["valid"]
    with pytest.raises(OptionError, match="valid_split must be one of seeded, tail"):
        create_dataset("mosi", valid_split="first")


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


# -- target="sentiment": CMU-MOSI's continuous labels ---------------------------------


def sentiment(video: str, k: int) -> float:
    """A label in [-3, 3] whose sign agrees with ``label(video, k)`` (0.0 counts as positive)."""
    return (k % 4) * 0.75 if label(video, k) else -(0.2 + (k % 3) * 0.9)


def write_labels(release: Path, drop: str | None = None) -> Path:
    """CMU-MOSI's label file for the fixture, beside it (``../labels/``), CRLF, no header."""
    utterances = [(v, k) for v, n in TRAIN + TEST for k in range(1, n + 1)]
    rows: list[list[object]] = [
        [10.0 * k, 10.0 * k + 5, v, k, sentiment(v, k)] for v, k in utterances if f"{v}_{k}" != drop
    ]
    path = release.parent / "labels" / LABELS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)  # \r\n line ends, as released
    return path


def test_sentiment_target_reads_the_labels_beside_the_release(release: Path) -> None:
    write_labels(release)
    ds = create_dataset("mosi-bclstm", release, target="sentiment")
    binary = create_dataset("mosi-bclstm", release)
    assert ds.task == "regression" and ds.label_names == [] and binary.task == "classification"
    a = next(c for c in ds.train + ds.valid if c.id == "vidA")
    assert a.labels.dtype == np.float32 and a.labels.shape == (11,)
    assert a.labels.tolist() == [np.float32(sentiment("vidA", k)) for k in range(1, 12)]
    for s in ("train", "valid", "test"):
        assert [c.id for c in ds.splits[s]] == [c.id for c in binary.splits[s]]
        for c, b in zip(ds.splits[s], binary.splits[s]):
            assert ((c.labels >= 0) == (b.labels == 1)).all()
            assert all(np.array_equal(c.feats[m], b.feats[m]) for m in MODALITIES)
    assert ds.warning is not None and "0.98" in ds.warning  # the leak warning is kept
    assert "62/31" in ds.warning and "52/10/31" in ds.warning
    assert "62/31" in ds.provenance["labels_split"]
    assert "ASA-MOSI/Audio-Sentiment-Analysis" in ds.provenance["labels_source"]
    assert differences(create_dataset("mosi", release, target="sentiment"), ds) == []


def test_sentiment_without_the_labels_file(release: Path) -> None:
    with pytest.raises(DataError, match="missing file") as info:
        create_dataset("mosi-bclstm", release, target="sentiment")
    assert info.value.file == str(release.parent / "labels" / LABELS_FILE)
    with pytest.raises(OptionError, match="needs the labels file"):
        read_bclstm(release, target="sentiment")


@pytest.mark.parametrize("loader", ["mosi", "mosi-bclstm"])
def test_unknown_target_names_the_option_and_its_values(release: Path, loader: str) -> None:
    with pytest.raises(OptionError, match="target") as info:
        create_dataset(loader, release, target="continuous")
    assert "'binary', 'sentiment'" in str(info.value) and "'continuous'" in str(info.value)


def test_unknown_target_called_directly() -> None:
    with pytest.raises(OptionError, match="target must be one of 'binary', 'sentiment'"):
        load_mosi(target="regression")  # type: ignore[arg-type]


def edit_labels(path: Path, video: str, k: int, column: int, value: str) -> None:
    rows = rows_of(path)
    row = next(r for r in rows if (r[2], r[3]) == (video, str(k)))
    row[column] = value
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)


@pytest.mark.parametrize(
    ("change", "words", "dialogue", "field"),
    [
        ("drop vidD_2", "no label for utterance vidD_2", "vidD", "utterance_id"),
        ("vidA 1 4 -0.75", "vidA_1 has label -0.75 but binary label 1", "vidA", "label"),
        ("vidA 1 4 -0.0", None, None, None),  # -0.0 >= 0: positive, as is 0
        ("vidC 2 4 0", "vidC_2 has label 0 but binary label 0", "vidC", "label"),
        ("vidE 2 4 3.5", "not a number in \\[-3, 3\\]", "vidE", "label"),
        ("vidE 2 4 high", "'high' of vidE_2 is not a number", "vidE", "label"),
        ("vidE 2 3 two", "want a video id and a segment number", "vidE", "segment_no"),
        ("vidE 2 3 1", "vidE_1 labelled twice", "vidE", "utterance_id"),
    ],
)
def test_corrupted_labels_file(
    release: Path, change: str, words: str | None, dialogue: str | None, field: str | None
) -> None:
    parts = change.split()
    if parts[0] == "drop":
        path = write_labels(release, drop=parts[1])
    else:
        path = write_labels(release)
        edit_labels(path, parts[0], int(parts[1]), int(parts[2]), parts[3])
    if words is None:
        assert create_dataset("mosi-bclstm", release, target="sentiment").task == "regression"
        return
    for target in ("sentiment", "binary"):  # given a labels file, both targets check it
        with pytest.raises(DataError, match=words) as info:
            read_bclstm(release, path, target)  # type: ignore[arg-type]
        assert (info.value.file, info.value.dialogue, info.value.field) == (
            str(path),
            dialogue,
            field,
        )


def test_bundled_sentiment_labels() -> None:
    """Offline: the bundled copy carries the labels, whose sign is the binary label."""
    ds = create_dataset("mosi", target="sentiment")
    binary = create_dataset("mosi")
    assert ds.task == "regression" and ds.label_names == []
    assert [len(ds.splits[s]) for s in ("train", "valid", "test")] == [56, 6, 31]
    scores = {
        f"{c.id}_{i + 1}": float(y)
        for s in ds.splits.values()
        for c in s
        for i, y in enumerate(c.labels)
    }
    assert len(scores) == 2199
    expected = {"1DmNV9C1hbY_1": -2.0, "1DmNV9C1hbY_2": 1.6, "_dI--eQ6qVU_1": 2.4}
    expected |= {"_dI--eQ6qVU_2": 3.0, "_dI--eQ6qVU_3": -0.2}
    assert {k: scores[k] for k in expected} == {
        k: float(np.float32(v)) for k, v in expected.items()
    }
    assert all(-3 <= v <= 3 for v in scores.values())
    for s in ("train", "valid", "test"):
        for c, b in zip(ds.splits[s], binary.splits[s], strict=True):
            assert c.id == b.id and ((c.labels >= 0) == (b.labels == 1)).all()
    assert "62/31" in (ds.warning or "") and "0.98" in (ds.warning or "")
    text = (RESOURCES / "PROVENANCE.mosi").read_text()
    assert "5af5525f6c2c70a24c2fb8bda6c67dee37183f6f588955e753f0bd4fd6f9523a" in text
    assert "ASA-MOSI/Audio-Sentiment-Analysis" in text and "MFN's y_*.h5" in text
    assert "52/10/31" in text


def test_bundled_labels_are_checked(tmp_path: Path) -> None:
    """A labels file given to the bundled copy is checked: an utterance without one."""
    with bundled_path(SENTIMENT_RESOURCE) as path:
        scores = read_bundled_sentiment(path)
    labels = tmp_path / LABELS_FILE
    rows = [[0, 1, *uid.rsplit("_", 1), v] for uid, v in scores.items() if uid != "1DmNV9C1hbY_2"]
    _write(labels, rows)
    with pytest.raises(DataError, match="no label for utterance 1DmNV9C1hbY_2") as info:
        create_dataset("mosi", target="sentiment", labels=labels)
    assert (info.value.file, info.value.dialogue, info.value.field) == (
        str(labels),
        "1DmNV9C1hbY",
        "utterance_id",
    )


@pytest.mark.skipif(not LABELS.is_file(), reason=f"shared data absent: {LABELS}")
def test_bundled_sentiment_equals_the_source_file() -> None:
    with LABELS.open(newline="") as f:  # read here without lmam's reader
        raw = {f"{r[2]}_{r[3]}": float(r[4]) for r in csv.reader(f)}
    assert len(raw) == 2199 and read_sentiment(LABELS) == raw
    ds = create_dataset("mosi", target="sentiment")
    got = {
        f"{c.id}_{i + 1}": y for s in ds.splits.values() for c in s for i, y in enumerate(c.labels)
    }
    assert got.keys() == raw.keys()
    for uid in ("_dI--eQ6qVU_1", "_dI--eQ6qVU_3", "1DmNV9C1hbY_1", "zhpQhgha_KU_1"):
        assert got[uid] == np.float32(raw[uid]), uid
    assert all(got[uid] == np.float32(v) for uid, v in raw.items())


@pytest.mark.skipif(
    not BCLSTM.is_dir() or not LABELS.is_file(), reason=f"shared data absent: {SHARED}"
)
def test_real_release_sentiment_matches_the_bundle() -> None:
    a, b = (
        create_dataset("mosi", target="sentiment"),
        create_dataset("mosi-bclstm", target="sentiment"),
    )
    for s in ("train", "valid", "test"):
        for x, y in zip(a.splits[s], b.splits[s], strict=True):
            assert x.id == y.id and np.array_equal(x.labels, y.labels)


def test_sentiment_regression_run_from_the_command_line(tmp_path: Path) -> None:
    """2 epochs, 1 thread on the bundled copy: every Table IV metric, finite; evaluate agrees."""
    import json
    import math

    from typer.testing import CliRunner

    from lmam.cli import app

    runner = CliRunner()
    args = ["train", "--dataset", "mosi", "--data-opt", "target=sentiment", "--epochs", "2"]
    args += ["--threads", "1", "--out-dir", str(tmp_path), "--name", "s", "--quiet"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    run = tmp_path / "s"
    summary = json.loads((run / "summary.json").read_text())
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert summary["metric"] == "mae" and "62/31" in summary["warning"]
    for metrics in (summary["test"], history[-1]["test"], history[-1]["valid"]):
        for key in ("mae", "pearson_r", "acc2", "f1", "acc7"):
            assert math.isfinite(metrics[key]), key
    assert 0 <= summary["test"]["acc7"] <= 1 and summary["test"]["n"] == 752
    assert "label,prediction" in (run / "predictions.csv").read_text().splitlines()[0]
    r = runner.invoke(app, ["evaluate", str(run)])
    assert r.exit_code == 0 and "identical" in r.output, r.output
    r = runner.invoke(app, ["train", "--dataset", "mosi", "--data-opt", "target=scores"])
    assert r.exit_code == 2 and "target" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, [*args[:5], "--loss", "weighted_ce", "--out-dir", str(tmp_path)])
    assert r.exit_code == 2 and "regression task" in r.output
