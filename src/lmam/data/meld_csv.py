"""MELD's official CSV release: ``train_sent_emo.csv``, ``dev_sent_emo.csv``, ``test_sent_emo.csv``.

Columns: ``Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID,
Utterance_ID, Season, Episode, StartTime, EndTime``; the published files
are UTF-8 (with a byte-order mark); cp1252 and UTF-16 (with a byte-order mark)
re-saves are read too, and the encoding found is recorded in the provenance. One conversation per ``Dialogue_ID``, its
utterances in ``Utterance_ID`` order.

* Labels: the classic files' order, emotions 0 neutral, 1 surprise, 2 fear,
  3 sadness, 4 joy, 5 disgust, 6 anger; sentiments 0 neutral, 1 positive,
  2 negative.
* Speakers: numbered per dialogue by first appearance (the slot of the
  classic files' one-hot speaker vectors).
* Dialogue ids: numbered like the classic and COSMIC MELD pickles: train ids
  as in the file, dev ids shifted by (largest train id + 1), test ids by that
  plus (largest dev id + 1); with the official files dev starts at 1039 and
  test at 1153, so conversations line up with ``cosmic_meld.pkl``.
* No features: ``feats`` and ``modalities`` are empty; the texts are there.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmam.data.dataset import Conversation, ConversationDataset
from lmam.data.erc_common import label_names, repair_text
from lmam.data.errors import DataError
from lmam.data.registry import register_dataset
from lmam.data.sources import default_data, file_sha256
from lmam.data.transcripts import WARNING
from lmam.data.validate import validate_dataset

FILES = {"train": "train_sent_emo.csv", "valid": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}
COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")


@dataclass
class _Row:
    line: int
    dialogue: int
    utterance: int
    speaker: str
    label: str
    text: str


def is_meld_csv_dir(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding the three MELD CSV files."""
    p = Path(path)
    return p.is_dir() and all((p / name).is_file() for name in FILES.values())


def read_meld_csv(directory: str | Path, *, labels: str = "emotion") -> ConversationDataset:
    """Read the three MELD CSVs of ``directory`` into train / valid (dev) / test.

    Args:
        directory: the directory holding the CSV files.
        labels: ``"emotion"`` (7 classes) or ``"sentiment"`` (3 classes).

    Raises:
        DataError: a missing file or column, undecodable text, a bad number,
            an unknown label or a repeated ``Utterance_ID``, naming the file,
            the dialogue (its ``Dialogue_ID`` in that file) and the column.
    """
    directory = Path(directory)
    names = label_names("MELD", labels)
    column = "Emotion" if labels == "emotion" else "Sentiment"
    splits: dict[str, list[Conversation]] = {}
    provenance = {"source": str(directory), "layout": "MELD CSV release", "labels": labels}
    offset = 0
    for split, name in FILES.items():
        file = directory / name
        text, encoding = _decode(file)
        dialogues = _group(_rows(text, file, column), file)
        splits[split] = [
            _conversation(str(offset + d), rows, names, column, file)
            for d, rows in dialogues.items()
        ]
        provenance[f"{split} file"] = f"{name} ({encoding})"
        provenance[f"{split} sha256"] = file_sha256(file)
        provenance[f"{split} id offset"] = str(offset)
        offset += max(dialogues, default=-1) + 1
    ds = ConversationDataset(
        name="meld-csv",
        splits=splits,
        label_names=names,
        modalities={},
        provenance={
            **provenance,
            "dataset": "MELD",
            "speakers": "numbered per dialogue by first appearance",
            "valid": "the official dev split (dev_sent_emo.csv)",
            "licence": "MELD: GPL-3.0",
        },
        warning=WARNING,
    )
    validate_dataset(ds, directory, field_names={"labels": column, "texts": "Utterance"})
    return ds


def _decode(file: Path) -> tuple[str, str]:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise DataError(
            f"missing: the MELD CSV release has {', '.join(FILES.values())}", file=file
        ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise DataError(f"UTF-16 text with a bad byte at offset {e.start}", file=file) from None
    if b"\x00" in raw[:4096]:
        raise DataError(
            "has NUL bytes: UTF-16 or UTF-32 text without a byte-order mark, or not text; "
            "save it as UTF-8",
            file=file,
        )
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as e:
        raise DataError(
            f"neither cp1252 nor UTF-8 text: byte {raw[e.start]:#04x} at offset {e.start}",
            file=file,
        ) from None


def _rows(text: str, file: Path, label_column: str) -> list[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataError(f"missing column; the header is {header}", file=file, field=missing[0])
    at = {c: header.index(c) for c in COLUMNS}
    rows = []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        line = reader.line_num
        if len(record) < len(header):
            raise DataError(
                f"line {line}: {len(record)} columns, the header has {len(header)}", file=file
            )
        dialogue = _int(record[at["Dialogue_ID"]], file, None, "Dialogue_ID", line)
        rows.append(
            _Row(
                line=line,
                dialogue=dialogue,
                utterance=_int(record[at["Utterance_ID"]], file, dialogue, "Utterance_ID", line),
                speaker=record[at["Speaker"]].strip(),
                label=record[at[label_column]].strip().lower(),
                text=repair_text(record[at["Utterance"]]),
            )
        )
    return rows


def _int(cell: str, file: Path, dialogue: int | None, column: str, line: int) -> int:
    try:
        return int(cell.strip())
    except ValueError:
        raise DataError(
            f"line {line}: {cell!r} is not an integer",
            file=file,
            dialogue=None if dialogue is None else str(dialogue),
            field=column,
        ) from None


def _group(rows: list[_Row], file: Path) -> dict[int, list[_Row]]:
    """Rows by ``Dialogue_ID`` (ascending), each in ``Utterance_ID`` order."""
    dialogues: dict[int, list[_Row]] = {}
    for row in rows:
        dialogues.setdefault(row.dialogue, []).append(row)
    for d, group in dialogues.items():
        group.sort(key=lambda r: r.utterance)
        for a, b in itertools.pairwise(group):
            if a.utterance == b.utterance:
                raise DataError(
                    f"Utterance_ID {a.utterance} on lines {a.line} and {b.line}",
                    file=file,
                    dialogue=str(d),
                    field="Utterance_ID",
                )
    return dict(sorted(dialogues.items()))


def _conversation(
    cid: str, rows: list[_Row], names: list[str], column: str, file: Path
) -> Conversation:
    slots: dict[str, int] = {}
    speakers = [slots.setdefault(r.speaker, len(slots)) for r in rows]
    labels = []
    for r in rows:
        if r.label not in names:
            raise DataError(
                f"line {r.line}: unknown label {r.label!r}; known: {', '.join(names)}",
                file=file,
                dialogue=str(r.dialogue),
                field=column,
            )
        labels.append(names.index(r.label))
    return Conversation(
        id=cid,
        feats={},
        speakers=np.asarray(speakers, dtype=np.int64),
        labels=np.asarray(labels, dtype=np.int64),
        texts=[r.text for r in rows],
    )


@register_dataset("meld-csv", "MELD's official CSV release (texts, speakers, labels; no features)")
def load_meld_csv(path: Path | None = None, *, labels: str = "emotion") -> ConversationDataset:
    """MELD from the directory of its CSV release (default: ``meld/`` under the data root)."""
    return read_meld_csv(path if path is not None else default_data("meld"), labels=labels)
