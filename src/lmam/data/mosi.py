"""CMU-MOSI with the utterance-level bc-LSTM features, and its bundled copy.

Source layout (``<dir>`` = the ``bclstm`` directory; every CSV has no header):

- ``data/transcripts.csv``: ``utterance_id, text, n, label``; the id is
  ``<video_id>_<k>`` with ``k`` the 1-based position of the utterance in its video.
- ``data/text_{train,test}.csv``: column 0 is a row index into ``transcripts.csv``,
  then the 100 text features.
- ``data/{text,audio,video}/{mod}_{train,test}0.csv``: the features (text 100,
  audio 73, video 100), then the label; row ``r`` is the utterance of row ``r`` of
  ``text_{split}.csv``.

Each video is one conversation (one speaker, id 0), its utterances sorted by
``k``; videos keep the order in which they first appear in ``text_{split}.csv``.
Labels (``target``): ``"binary"``, 0 negative, 1 positive, as published; or
``"sentiment"``, CMU-MOSI's continuous segment-level sentiment in [-3, 3]
(float32 ``(T,)`` per video, task ``"regression"``), read from CMU-MOSI's label
file ``OpinionLevelSentiment.csv`` (``<data root>/mosi/labels/``; CRLF, no header:
``start_s, end_s, video_id, segment_no, label``; utterance ``<video_id>_<segment_no>``).
Every utterance must have one, and its binary label must be ``label >= 0``.
The published split has no validation part: :func:`read_bclstm` returns it as
published (``valid`` empty) and the registered loaders carve a seeded,
video-level validation split from train. With ``target="sentiment"`` this is
still the bc-LSTM 62/31-video split, not the standard 52/10/31 one.

The bundled copy is built by :func:`lmam.data.mosi_bundle.build_bundle`.
(the sentiment labels are read from ``../labels/OpinionLevelSentiment.csv`` beside the
``bclstm`` directory and bundled as ``mosi_sentiment.csv``: ``utterance_id,label``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

from lmam.data.dataset import Conversation, ConversationDataset
from lmam.data.errors import DataError
from lmam.data.lmam_format import load_dataset
from lmam.data.registry import register_dataset
from lmam.data.safe_pickle import safe_load
from lmam.data.sources import KNOWN_FILES, default_data, file_sha256
from lmam.data.splits import carve_valid
from lmam.data.validate import validate_dataset
from lmam.errors import OptionError

MODALITIES = {"text": ("text", 100), "audio": ("audio", 73), "visual": ("video", 100)}
LABEL_NAMES = ["negative", "positive"]
EPOCHS = 40
LICENCE_FILE = "LICENSE.soujanyaporia-multimodal-sentiment-analysis"
WARNING = (
    "Measured fact about this release of CMU-MOSI: its training features come from "
    "extractors fitted on the training videos. A logistic regression reaches 0.98 "
    "cross-validated accuracy within the training set on text (video 0.91) but only 0.75 "
    "on the test set (video 0.52). A validation split carved from train therefore says "
    "nothing about generalisation. Recommended protocol: train for a fixed number of "
    f"epochs ({EPOCHS}, decided in advance) and do no model selection."
)
Target = Literal["binary", "sentiment"]
TARGETS: tuple[str, ...] = ("binary", "sentiment")
LABELS_FILE = "OpinionLevelSentiment.csv"  # CMU-MOSI's labels, in <data root>/mosi/labels/
SENTIMENT_RESOURCE = "mosi_sentiment.csv"  # the bundled copy: utterance_id,label
SENTIMENT_RANGE = (-3.0, 3.0)
SPLIT_NOTE = (
    "the bc-LSTM 62/31-video split (62 train / 31 test videos), not the standard "
    "CMU-MOSI 52/10/31 split"
)
SENTIMENT_WARNING = (
    "Target 'sentiment': CMU-MOSI's continuous labels in [-3, 3] on "
    f"{SPLIT_NOTE}; say so in every result (Acc-2, F1, Acc-7, MAE and Pearson r here "
    "are not directly comparable with those reported on the standard split)."
)
_LABELS_SOURCE = {
    "target": "sentiment: CMU-MOSI's segment-level sentiment, continuous in [-3, 3] "
    "(regression); the binary label of every utterance is label >= 0",
    "labels_source": f"{LABELS_FILE}: the CMU-MOSI label file as committed in "
    "ASA-MOSI/Audio-Sentiment-Analysis; the same values as MFN's y_*.h5 "
    "(pliang279/MFN, MIT). Cite CMU-MOSI (Zadeh et al., 2016).",
    "labels_split": SPLIT_NOTE,
}
# The source files read, under data/ (their sha256 go into the provenance).
FILES = [
    "transcripts.csv",
    *(f"text_{split}.csv" for split in ("train", "test")),
    *(
        f"{stem}/{stem}_{split}0.csv"
        for stem, _ in MODALITIES.values()
        for split in ("train", "test")
    ),
]
_SOURCE = {
    "source": "declare-lab/contextual-utterance-level-multimodal-sentiment-analysis "
    "(CMU-MOSI, utterance-level bc-LSTM text/audio/video features)",
    "also_published_in": "soujanyaporia/multimodal-sentiment-analysis",
    "licence": "MIT (soujanyaporia/multimodal-sentiment-analysis; see LICENSE.mosi). "
    "Cite CMU-MOSI (Zadeh et al., 2016) and bc-LSTM (Poria et al., ACL 2017).",
    "split": "speaker-independent, as published: 62 train videos / 1447 utterances, "
    "31 test videos / 752 utterances; no validation part",
    "published_results": "T+A+V accuracy on these features and split: bc-LSTM 80.3 "
    "(ACL 2017); contextual inter-modal attention 82.31 (EMNLP 2018)",
}


def _rows(path: Path) -> list[list[str]]:
    """The rows of a header-less CSV."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.reader(f))
    except FileNotFoundError:
        raise DataError("missing file", file=path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"unreadable CSV: {e}", file=path) from None


def _matrix(path: Path, rows: list[list[str]], width: int, field: str) -> np.ndarray:
    """``rows`` as a float64 ``(N, width)`` matrix, or a DataError naming the bad row."""
    for r, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"row {r} has {len(row)} columns, want {width}", file=path, field=field)
    try:
        return np.array(rows, dtype=np.float64).reshape(len(rows), width)
    except ValueError:
        for r, row in enumerate(rows):
            try:
                np.array(row, dtype=np.float64)
            except ValueError as e:
                raise DataError(f"row {r}: {e}", file=path, field=field) from None
        raise


class _Transcripts:
    """``transcripts.csv``: per row, the video id, position ``k``, text and label."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.video: list[str] = []
        self.k: list[int] = []
        self.text: list[str] = []
        self.label: list[int] = []
        for r, row in enumerate(_rows(path)):
            if len(row) != 4:
                raise DataError(f"row {r} has {len(row)} columns, want 4", file=path)
            video, _, k = row[0].rpartition("_")
            if not video or not k.isdigit() or row[3] not in ("0", "1"):
                raise DataError(
                    f"row {r}: want '<video>_<k>' and a 0/1 label, got {row[0]!r}, {row[3]!r}",
                    file=path,
                    dialogue=video or row[0],
                    field="utterance_id" if not video or not k.isdigit() else "label",
                )
            self.video.append(video)
            self.k.append(int(k))
            self.text.append(row[1])
            self.label.append(int(row[3]))


def _index(path: Path, rows: list[list[str]], transcripts: _Transcripts) -> list[int]:
    """Column 0 of ``text_{split}.csv``: rows of ``transcripts.csv``."""
    out = []
    for r, row in enumerate(rows):
        if not row or not row[0].isdigit() or int(row[0]) >= len(transcripts.video):
            raise DataError(
                f"row {r}: {row[:1]!r} is not a row of {transcripts.path.name}",
                file=path,
                field="transcript_row",
            )
        out.append(int(row[0]))
    return out


def _features(
    directory: Path, split: str, index: list[int], transcripts: _Transcripts
) -> dict[str, np.ndarray]:
    """``{modality: (N, D)}`` float64, rows aligned with ``text_{split}.csv``; labels checked."""
    feats = {}
    for modality, (stem, width) in MODALITIES.items():
        path = directory / "data" / stem / f"{stem}_{split}0.csv"
        rows = _rows(path)
        if len(rows) != len(index):
            raise DataError(
                f"{len(rows)} rows, but text_{split}.csv has {len(index)}", file=path, field=stem
            )
        x = _matrix(path, rows, width + 1, stem)
        for r, i in enumerate(index):
            if x[r, -1] != transcripts.label[i]:
                raise DataError(
                    f"row {r} (utterance {transcripts.video[i]}_{transcripts.k[i]}) has label "
                    f"{x[r, -1]:g}, transcripts.csv says {transcripts.label[i]}",
                    file=path,
                    dialogue=transcripts.video[i],
                    field="label",
                )
        feats[modality] = x[:, :-1]
    return feats


def _split(
    directory: Path, split: str, transcripts: _Transcripts, numbered: bool = False
) -> list[Conversation]:
    """The videos of one published split, each a conversation in utterance order.

    ``numbered``: also require the positions of each video to be exactly ``1..T``
    (utterance ``i`` is then ``<video>_<i + 1>``, as the sentiment labels expect).
    """
    path = directory / "data" / f"text_{split}.csv"
    rows = _rows(path)
    index = _index(path, rows, transcripts)
    feats = _features(directory, split, index, transcripts)
    text = _matrix(path, rows, MODALITIES["text"][1] + 1, "text")[:, 1:]
    if not np.allclose(text, feats["text"], rtol=1e-6, atol=1e-9):
        row = int(np.argwhere(~np.isclose(text, feats["text"], rtol=1e-6, atol=1e-9))[0][0])
        raise DataError(
            f"row {row}: text features differ from data/text/text_{split}0.csv",
            file=path,
            dialogue=transcripts.video[index[row]],
            field="text",
        )
    videos: dict[str, list[int]] = {}
    for r, i in enumerate(index):
        videos.setdefault(transcripts.video[i], []).append(r)
    convs = []
    for video, rs in videos.items():
        rs.sort(key=lambda r: transcripts.k[index[r]])
        ks = [transcripts.k[index[r]] for r in rs]
        if len(set(ks)) != len(ks):
            raise DataError(
                f"utterance position repeated in {ks}",
                file=path,
                dialogue=video,
                field="utterance_id",
            )
        if numbered and ks != list(range(1, len(ks) + 1)):
            raise DataError(
                f"utterance positions {ks} are not 1..{len(ks)}",
                file=path,
                dialogue=video,
                field="utterance_id",
            )
        convs.append(
            Conversation(
                id=video,
                feats={m: x[rs].astype(np.float32) for m, x in feats.items()},
                speakers=np.zeros(len(rs), dtype=np.int64),
                labels=np.array([transcripts.label[index[r]] for r in rs], dtype=np.int64),
                texts=[transcripts.text[index[r]] for r in rs],
            )
        )
    return convs


def check_target(target: str) -> None:
    """Raise :class:`~lmam.errors.OptionError` unless ``target`` is one of :data:`TARGETS`."""
    if target not in TARGETS:
        raise OptionError(
            f"option target must be one of {', '.join(map(repr, TARGETS))}, got {target!r}"
        )


def _score(path: Path, r: int, uid: str, text: str, seen: dict[str, float]) -> float:
    """The label ``text`` of utterance ``uid`` (row ``r``): a number in [-3, 3], not repeated."""
    video = uid.rpartition("_")[0] or uid
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    low, high = SENTIMENT_RANGE
    if not low <= value <= high:
        raise DataError(
            f"row {r}: label {text!r} of {uid} is not a number in [{low:g}, {high:g}]",
            file=path,
            dialogue=video,
            field="label",
        )
    if uid in seen:
        raise DataError(
            f"row {r}: utterance {uid} labelled twice",
            file=path,
            dialogue=video,
            field="utterance_id",
        )
    return value


def read_sentiment(path: str | Path) -> dict[str, float]:
    """CMU-MOSI's ``OpinionLevelSentiment.csv``: ``{"<video_id>_<segment_no>": label}``.

    Raises:
        DataError: a row without 5 columns, a bad segment number or label (naming
            the file, the video and the field).
    """
    path = Path(path)
    out: dict[str, float] = {}
    for r, row in enumerate(_rows(path)):
        if len(row) != 5:
            raise DataError(f"row {r} has {len(row)} columns, want 5", file=path)
        video, segment = row[2].strip(), row[3].strip()
        if not video or not segment.isdigit():
            raise DataError(
                f"row {r}: want a video id and a segment number, got {row[2]!r}, {row[3]!r}",
                file=path,
                dialogue=video or None,
                field="segment_no",
            )
        uid = f"{video}_{int(segment)}"
        out[uid] = _score(path, r, uid, row[4].strip(), out)
    return out


def read_bundled_sentiment(path: str | Path) -> dict[str, float]:
    """The bundled ``mosi_sentiment.csv`` (header ``utterance_id,label``): ``{id: label}``."""
    path = Path(path)
    rows = _rows(path)
    if not rows or rows[0] != ["utterance_id", "label"]:
        raise DataError("want the header utterance_id,label", file=path)
    out: dict[str, float] = {}
    for r, row in enumerate(rows[1:], start=1):
        if len(row) != 2:
            raise DataError(f"row {r} has {len(row)} columns, want 2", file=path)
        out[row[0]] = _score(path, r, row[0], row[1], out)
    return out


def _sentiment(video: str, binary: np.ndarray, scores: dict[str, float], file: Path) -> np.ndarray:
    """``(T,)`` float32 labels of utterances ``<video>_1 .. <video>_T``, checked against
    their ``(T,)`` 0/1 ``binary`` labels (positive exactly when ``label >= 0``)."""
    out = np.empty(len(binary), dtype=np.float32)
    for i, positive in enumerate(binary.tolist()):
        uid = f"{video}_{i + 1}"
        if uid not in scores:
            raise DataError(
                f"no label for utterance {uid}", file=file, dialogue=video, field="utterance_id"
            )
        value = scores[uid]
        if (value >= 0) != bool(positive):
            raise DataError(
                f"utterance {uid} has label {value:g} but binary label {positive} "
                "(want 1 exactly when label >= 0)",
                file=file,
                dialogue=video,
                field="label",
            )
        out[i] = value
    return out


def with_sentiment(
    ds: ConversationDataset, scores: dict[str, float], file: str | Path
) -> ConversationDataset:
    """``ds`` (binary MOSI) with the continuous sentiment labels ``scores`` of ``file``.

    Utterance ``i`` (0-based, in order) of video ``v`` is ``<v>_<i + 1>``.

    Returns:
        the same videos, labels float32 ``(T,)``, task ``"regression"``, no label
        names; provenance and warning say it is the bc-LSTM 62/31-video split.

    Raises:
        DataError: an utterance without a label, or whose binary label is not
            ``label >= 0`` (naming ``file``, the video and the field).
    """
    file = Path(file)
    if ds.task != "classification" or ds.label_names != LABEL_NAMES:
        raise DataError(
            f"want binary CMU-MOSI ({LABEL_NAMES}), got a {ds.task} dataset", file=ds.name
        )
    splits = {
        s: [
            Conversation(
                c.id, c.feats, c.speakers, _sentiment(c.id, c.labels, scores, file), c.texts
            )
            for c in convs
        ]
        for s, convs in ds.splits.items()
    }
    provenance = {**ds.provenance, **_LABELS_SOURCE, f"sha256:{file.name}": file_sha256(file)}
    warning = f"{ds.warning} {SENTIMENT_WARNING}" if ds.warning else SENTIMENT_WARNING
    out = ConversationDataset(
        ds.name,
        splits,
        [],
        ds.modalities,
        "regression",
        provenance,
        ds.selection,
        ds.epochs,
        warning,
    )
    validate_dataset(out, file)
    return out


def read_bclstm(
    directory: str | Path, labels: str | Path | None = None, target: Target = "binary"
) -> ConversationDataset:
    """CMU-MOSI bc-LSTM features from ``directory`` (the ``bclstm`` folder), split as published.

    Args:
        directory: the ``bclstm`` folder (holding ``data/``).
        labels: CMU-MOSI's ``OpinionLevelSentiment.csv``; needed for
            ``target="sentiment"``. When given, every utterance must have a
            label and its binary label must be ``label >= 0``.
        target: ``"binary"`` (0/1 labels) or ``"sentiment"`` (float32 labels in
            [-3, 3], task ``"regression"``).

    Returns:
        a dataset named ``"mosi"`` with ``train`` and ``test`` videos, ``valid``
        empty; feats ``(T, 100)`` text, ``(T, 73)`` audio, ``(T, 100)`` visual;
        labels ``(T,)`` int64 (binary) or float32 (sentiment).

    Raises:
        OptionError: an unknown ``target``, or ``"sentiment"`` without ``labels``.
        DataError: bad data (naming the file, and the video and field where it applies).
    """
    check_target(target)
    if target == "sentiment" and labels is None:
        raise OptionError(f"target 'sentiment' needs the labels file ({LABELS_FILE})")
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("not a directory (want the bclstm folder holding data/)", file=directory)
    transcripts = _Transcripts(directory / "data" / "transcripts.csv")
    numbered = labels is not None
    splits = {
        "train": _split(directory, "train", transcripts, numbered),
        "valid": [],
        "test": _split(directory, "test", transcripts, numbered),
    }
    provenance = {**_SOURCE, **_hashes(directory), **check_audio_pickle(directory, splits)}
    ds = ConversationDataset(
        name="mosi",
        splits=splits,
        label_names=list(LABEL_NAMES),
        modalities={m: width for m, (_, width) in MODALITIES.items()},
        provenance=provenance,
        selection="last",
        epochs=EPOCHS,
        warning=WARNING,
    )
    validate_dataset(ds, directory)
    if labels is None:
        return ds
    labelled = with_sentiment(ds, read_sentiment(labels), labels)
    return labelled if target == "sentiment" else ds


def _padded(obj: object, file: Path) -> dict[str, tuple[np.ndarray, np.ndarray, list[int]]]:
    """``{split: (audio (V, L, 73), labels (V, L), lengths)}`` from ``input/audio.pickle``."""
    if not isinstance(obj, tuple) or len(obj) != 7:
        raise DataError("want a tuple of 7 (train, train_mask, test, test_mask, ...)", file=file)
    out = {}
    for i, split in enumerate(("train", "test")):
        audio, labels, lengths = obj[2 * i], obj[2 * i + 1], obj[5 + i]
        ok = isinstance(audio, np.ndarray) and isinstance(labels, np.ndarray)
        ok = (
            ok and isinstance(lengths, list) and audio.ndim == 3 and labels.shape == audio.shape[:2]
        )
        if not ok or len(lengths) != len(audio) or not all(isinstance(n, int) for n in lengths):
            raise DataError(
                "want (V, L, D) audio, (V, L) labels, V lengths", file=file, field=split
            )
        out[split] = (audio, labels, lengths)
    return out


def check_audio_pickle(directory: Path, splits: dict[str, list[Conversation]]) -> dict[str, str]:
    """Check the videos against ``input/audio.pickle``, when present (loaded without pickle code).

    That file holds per video, in an order of its own, the audio features padded
    to 63 utterances and (in its ``*_mask`` arrays, despite the name) the 0/1
    labels. Every video must match one of its rows: same number of utterances,
    same audio in the same order, same labels.

    Returns:
        a provenance entry saying what was checked (empty without the file).
    """
    file = directory / "input" / "audio.pickle"
    if not file.is_file():
        return {}
    for split, (audio, labels, lengths) in _padded(safe_load(file), file).items():
        rows = {j: n for j, n in enumerate(lengths)}
        for conv in splits[split]:
            x = conv.feats["audio"]
            match = [
                j
                for j, n in rows.items()
                if n == len(conv)
                and audio.shape[2] == x.shape[1]
                and np.allclose(audio[j, :n], x, rtol=1e-5, atol=1e-6)
                and (labels[j, :n] == conv.labels).all()
            ]
            if not match:
                raise DataError(
                    f"no video of {split} in this file has the same audio and labels",
                    file=file,
                    dialogue=conv.id,
                    field="audio",
                )
            del rows[match[0]]
    return {"checked_against": "input/audio.pickle: same audio, utterance order and labels"}


def _hashes(directory: Path) -> dict[str, str]:
    """sha256 of every file read, and whether they are the published files."""
    sums = {f"data/{name}": file_sha256(directory / "data" / name) for name in FILES}
    canonical = all(
        KNOWN_FILES.get(sha, "").startswith(f"mosi/bclstm/{name} ") for name, sha in sums.items()
    )
    return {
        "canonical_files": "yes" if canonical else "no: not byte-for-byte the published files",
        **{f"sha256:{name}": sha for name, sha in sums.items()},
    }


VALID_SPLITS = ("seeded", "tail")


def with_valid(
    ds: ConversationDataset, fraction: float, seed: int, how: str = "seeded"
) -> ConversationDataset:
    """``ds`` with a video-level validation split carved from train: ``seeded``
    (:func:`~lmam.data.splits.carve_valid`) or ``tail`` (the first
    ``int(n (1 - fraction))`` training videos in the published order train, the others
    validate: the contextual inter-modal attention script's 49 / 13 with fraction 0.2)."""
    if ds.valid:
        return ds
    if how not in VALID_SPLITS:
        raise OptionError(f"valid_split must be one of {', '.join(VALID_SPLITS)}, got {how!r}")
    if how == "tail":
        if not 0.0 < fraction < 1.0:
            raise OptionError(f"valid_fraction must be in (0, 1), got {fraction}")
        keep = int(len(ds.train) * (1 - fraction))
        train, valid = ds.train[:keep], ds.train[keep:]
        said = f"the last {len(valid)} of {len(ds.train)} training videos in the published order"
    else:
        train, valid = carve_valid(ds.train, fraction, seed)
        said = (
            f"carved from train by lmam.data.carve_valid: {len(valid)} of {len(ds.train)} "
            f"videos (fraction {fraction}, seed {seed})"
        )
    provenance = dict(ds.provenance)
    provenance["valid"] = said
    return ConversationDataset(
        ds.name,
        {"train": train, "valid": valid, "test": ds.test},
        ds.label_names,
        ds.modalities,
        ds.task,
        provenance,
        ds.selection,
        ds.epochs,
        ds.warning,
    )


@contextmanager
def bundled_path(name: str = "mosi.npz") -> Iterator[Path]:
    """The path of a file of the copy of CMU-MOSI that ships with lmam (``mosi.npz``,
    ``mosi_sentiment.csv``)."""
    with resources.as_file(resources.files("lmam").joinpath(f"resources/{name}")) as path:
        yield path


def default_labels(directory: str | Path) -> Path:
    """Where CMU-MOSI's label file sits beside the ``bclstm`` folder ``directory``:
    ``<directory>/../labels/OpinionLevelSentiment.csv`` (``<data root>/mosi/labels/``)."""
    return Path(directory).parent / "labels" / LABELS_FILE


def _bundled_sentiment(ds: ConversationDataset, labels: Path | None) -> ConversationDataset:
    """``ds`` with the sentiment labels of ``labels``, by default the bundled ones."""
    if labels is not None:
        return with_sentiment(ds, read_sentiment(labels), labels)
    with bundled_path(SENTIMENT_RESOURCE) as path:
        return with_sentiment(ds, read_bundled_sentiment(path), path)


@register_dataset("mosi-bclstm", "CMU-MOSI bc-LSTM features read from the bclstm directory")
def load_mosi_bclstm(
    path: Path | None = None,
    *,
    valid_fraction: float = 0.1,
    seed: int = 0,
    target: Target = "binary",
    labels: Path | None = None,
    valid_split: str = "seeded",
) -> ConversationDataset:
    """CMU-MOSI bc-LSTM features read from the ``bclstm`` directory.

    Default ``path``: ``mosi/bclstm`` under the data root (``$LMAM_DATA``).
    ``target``: ``"binary"`` or ``"sentiment"`` (continuous labels in [-3, 3],
    regression; read from ``labels``, default ``labels/OpinionLevelSentiment.csv``
    beside the ``bclstm`` directory, i.e. ``mosi/labels/`` under the data root).
    ``valid_split``: how the validation videos leave train (:func:`with_valid`).
    """
    check_target(target)
    directory = path if path is not None else default_data("mosi", "bclstm")
    if target == "sentiment" and labels is None:
        labels = default_labels(directory)
    return with_valid(read_bclstm(directory, labels, target), valid_fraction, seed, valid_split)


@register_dataset("mosi", "CMU-MOSI (bc-LSTM features), bundled with lmam; works offline")
def load_mosi(
    path: Path | None = None,
    *,
    valid_fraction: float = 0.1,
    seed: int = 0,
    target: Target = "binary",
    labels: Path | None = None,
    valid_split: str = "seeded",
) -> ConversationDataset:
    """CMU-MOSI (bc-LSTM features), bundled with lmam; ``path`` may override the copy.

    ``path`` may be a ``bclstm`` directory or a file in lmam's format.
    ``target``: ``"binary"`` or ``"sentiment"`` (continuous labels in [-3, 3],
    regression; the bundled labels, or those of ``labels``, CMU-MOSI's
    ``OpinionLevelSentiment.csv``; for a ``bclstm`` directory, by default the file
    beside it, see :func:`default_labels`). ``valid_split``: how the validation videos
    leave train, ``seeded`` or ``tail`` (:func:`with_valid`).
    """
    check_target(target)
    if path is not None and path.is_dir():
        if target == "sentiment" and labels is None:
            labels = default_labels(path)
        ds = read_bclstm(path, labels, target)
        return with_valid(ds, valid_fraction, seed, valid_split)
    if path is not None:
        ds = load_dataset(path)
    else:
        with bundled_path() as bundle:
            ds = load_dataset(bundle)
    if target == "sentiment" and ds.task == "classification":
        ds = _bundled_sentiment(ds, labels)
    return with_valid(ds, valid_fraction, seed, valid_split)
