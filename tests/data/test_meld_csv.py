"""read_meld_csv on small CSVs in the exact structure (and cp1252 encoding) of MELD's release."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from lmam.data import DataError, create_dataset
from lmam.data.meld_csv import is_meld_csv_dir, read_meld_csv

HEADER = [
    "Sr No.",
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "StartTime",
    "EndTime",
]
# (dialogue, utterance, speaker, emotion, sentiment, text)
TRAIN = [
    (
        0,
        0,
        "Chandler",
        "neutral",
        "neutral",
        "also I was the point person on my company’s transition",
    ),
    (0, 1, "The Interviewer", "neutral", "neutral", "You must’ve had your hands full."),
    (0, 2, "Chandler", "surprise", "positive", 'That I did, "that", I did.'),
    (1, 1, "Joey", "anger", "negative", "Two lines,\nand a comma"),  # out of order on purpose
    (1, 0, "Rachel", "joy", "positive", "Oh my God!"),
    (3, 0, "Ross", "fear", "negative", "Uh…"),
]
DEV = [
    (0, 0, "Monica", "sadness", "negative", "No."),
    (1, 0, "Phoebe", "disgust", "negative", "Ew"),
]
TEST = [(0, 0, "Joey", "joy", "positive", "Hey!"), (0, 1, "Ross", "neutral", "neutral", "Hi.")]


def csv_text(rows: list[tuple], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for i, (d, u, spk, emo, sent, text) in enumerate(rows):
        writer.writerow([i + 1, text, spk, emo, sent, d, u, 8, 21, "00:16:16,059", "00:16:21,731"])
    return out.getvalue()


def release(
    directory: Path,
    train: list[tuple] = TRAIN,
    dev: list[tuple] = DEV,
    test: list[tuple] = TEST,
    encoding: str = "cp1252",
) -> Path:
    directory.mkdir(exist_ok=True)
    for name, rows in [("train", train), ("dev", dev), ("test", test)]:
        (directory / f"{name}_sent_emo.csv").write_bytes(csv_text(rows).encode(encoding))
    return directory


def test_reads_the_release(tmp_path: Path) -> None:
    ds = read_meld_csv(release(tmp_path))
    assert ds.name == "meld-csv" and ds.modalities == {} and ds.warning
    assert ds.label_names == ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]
    assert [c.id for c in ds.train] == ["0", "1", "3"]
    # dev ids shifted by max train id + 1 = 4, test by 4 + 2 = 6 (as in the COSMIC pickles)
    assert [c.id for c in ds.valid] == ["4", "5"]
    assert [c.id for c in ds.test] == ["6"]
    first = ds.train[0]
    assert first.speakers.tolist() == [0, 1, 0]
    assert first.labels.tolist() == [0, 0, 1]
    assert first.texts is not None
    assert (
        first.texts[0].endswith("company’s transition")
        and first.texts[2] == 'That I did, "that", I did.'
    )
    second = ds.train[1]  # sorted by Utterance_ID
    assert second.texts == ["Oh my God!", "Two lines,\nand a comma"]
    assert second.labels.tolist() == [4, 6] and second.speakers.tolist() == [0, 1]
    assert ds.train[2].texts == ["Uh…"]
    assert ds.provenance["valid id offset"] == "4" and ds.provenance["test id offset"] == "6"
    assert ds.provenance["train file"] == "train_sent_emo.csv (cp1252)"
    assert len(ds.provenance["test sha256"]) == 64


def test_sentiment_labels(tmp_path: Path) -> None:
    ds = create_dataset("meld-csv", release(tmp_path), labels="sentiment")
    assert ds.label_names == ["neutral", "positive", "negative"]
    assert ds.train[0].labels.tolist() == [0, 0, 1]
    assert ds.train[1].labels.tolist() == [1, 2]


def test_utf8_resave_is_accepted(tmp_path: Path) -> None:
    ds = read_meld_csv(release(tmp_path, encoding="utf-8"))
    assert ds.train[0].texts is not None and "company’s" in ds.train[0].texts[0]
    assert "utf-8" in ds.provenance["train file"]


def test_is_meld_csv_dir(tmp_path: Path) -> None:
    assert not is_meld_csv_dir(tmp_path)
    assert is_meld_csv_dir(release(tmp_path))


def expect(directory: Path, file: str, dialogue: str | None, field: str | None, words: str) -> None:
    with pytest.raises(DataError) as info:
        read_meld_csv(directory)
    err = info.value
    assert (err.file, err.dialogue, err.field) == (str(directory / file), dialogue, field), str(err)
    assert words in str(err), str(err)


def test_missing_file(tmp_path: Path) -> None:
    release(tmp_path)
    (tmp_path / "dev_sent_emo.csv").unlink()
    expect(tmp_path, "dev_sent_emo.csv", None, None, "missing")


def test_missing_column(tmp_path: Path) -> None:
    release(tmp_path)
    bad = csv_text(TEST).replace("Emotion", "Feeling", 1)
    (tmp_path / "test_sent_emo.csv").write_text(bad, encoding="cp1252")
    expect(tmp_path, "test_sent_emo.csv", None, "Emotion", "missing column")


def test_unknown_emotion(tmp_path: Path) -> None:
    rows = [*DEV[:1], (1, 0, "Phoebe", "happiness", "positive", "Yay")]
    expect(
        release(tmp_path, dev=rows), "dev_sent_emo.csv", "1", "Emotion", "unknown label 'happiness'"
    )


def test_bad_number(tmp_path: Path) -> None:
    rows = [*TEST, ("x", 0, "Joey", "joy", "positive", "Hey!")]
    expect(
        release(tmp_path, test=rows),
        "test_sent_emo.csv",
        None,
        "Dialogue_ID",
        "'x' is not an integer",
    )


def test_repeated_utterance_id(tmp_path: Path) -> None:
    rows = [*TRAIN, (3, 0, "Ross", "fear", "negative", "again")]
    expect(
        release(tmp_path, train=rows),
        "train_sent_emo.csv",
        "3",
        "Utterance_ID",
        "Utterance_ID 0 on lines",
    )


def test_short_row(tmp_path: Path) -> None:
    release(tmp_path)
    (tmp_path / "test_sent_emo.csv").write_text(csv_text(TEST) + "9,Hi,Ross\r\n", encoding="cp1252")
    expect(tmp_path, "test_sent_emo.csv", None, None, "3 columns, the header has 11")


def test_undecodable_bytes(tmp_path: Path) -> None:
    release(tmp_path)
    path = tmp_path / "train_sent_emo.csv"
    path.write_bytes(path.read_bytes() + b"7,\x81\xff,Ross,joy,positive,9,0,1,1,a,b\r\n")
    expect(tmp_path, "train_sent_emo.csv", None, None, "neither cp1252 nor UTF-8")
