"""Raw conversations: a CSV or JSON Lines file of utterances, before any features.

One row (CSV) or one JSON object per line (``.jsonl``) per utterance:

- ``dialogue`` (required): the dialogue id;
- ``turn`` (required): the utterance's position in its dialogue, an integer
  (any integers, unique within a dialogue; utterances are ordered by it);
- ``speaker`` (required): who speaks, any non-empty name;
- ``text`` (required): what is said (may be empty);
- ``audio`` (optional): the audio file of the utterance, relative to the
  conversation file (or absolute), with optional ``start`` / ``end`` seconds
  when one file holds several utterances;
- ``label`` (optional): the emotion's name;
- ``split`` (optional): ``train``, ``valid`` or ``test`` (default ``train``).

An optional column, when present, must be filled on every row (``start`` and
``end`` excepted). Every problem found is one line naming the file, the line
and the column; all of them (up to ``max_problems``) are reported together as
one :class:`ConversationFileError`.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmam.data.dataset import IGNORE_INDEX, SPLITS, Conversation, ConversationDataset
from lmam.data.errors import DataError

REQUIRED = ("dialogue", "turn", "speaker", "text")
OPTIONAL = ("audio", "start", "end", "label", "split")
COLUMNS = REQUIRED + OPTIONAL
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MAX_PROBLEMS = 20


class ConversationFileError(DataError):
    """Every problem of a conversation file, one line each (``problems``)."""

    def __init__(self, file: Path, problems: list[str], total: int) -> None:
        self.problems = list(problems)
        self.total = total
        lines = list(problems)
        if total > len(problems):
            lines.append(f"{file}: ... and {total - len(problems)} more problem(s)")
        super().__init__("\n".join(lines))
        self.file = str(file)

    @property
    def lines(self) -> list[str]:
        """The lines to show, one per problem (plus a count of those left out)."""
        return str(self).split("\n")


@dataclass(frozen=True)
class Utterance:
    """One utterance of a conversation file.

    Attributes:
        turn: its position in the dialogue.
        speaker: the speaker's name.
        text: the transcript.
        audio: the audio file (absolute), if any.
        start, end: the segment of ``audio`` in seconds (``None``: from the
            beginning / to the end).
        label: the emotion's name, if given.
        line: the line of the file it was read from.
    """

    turn: int
    speaker: str
    text: str
    audio: Path | None = None
    start: float | None = None
    end: float | None = None
    label: str | None = None
    line: int = 0


@dataclass
class Dialogue:
    """A dialogue's utterances, ordered by turn."""

    id: str
    utterances: list[Utterance]
    split: str = "train"

    def __len__(self) -> int:
        return len(self.utterances)


@dataclass
class ConversationFile:
    """A whole conversation file, read and checked.

    Attributes:
        path: the file.
        dialogues: in order of first appearance.
        columns: the columns the file has (required and optional, in
            :data:`COLUMNS` order).
        label_names: the label set (given, or the labels found, sorted).
        ignored: columns the file has that lmam does not read.
    """

    path: Path
    dialogues: list[Dialogue]
    columns: tuple[str, ...]
    label_names: list[str] = field(default_factory=list)
    ignored: tuple[str, ...] = ()

    @property
    def utterances(self) -> list[Utterance]:
        return [u for d in self.dialogues for u in d.utterances]

    @property
    def speakers(self) -> list[str]:
        """Speaker names in order of first appearance."""
        return list(dict.fromkeys(u.speaker for u in self.utterances))

    @property
    def has_audio(self) -> bool:
        return "audio" in self.columns

    @property
    def has_labels(self) -> bool:
        return "label" in self.columns

    def to_dataset(
        self,
        feats: dict[str, np.ndarray],
        label_names: list[str] | None = None,
        provenance: dict[str, str] | None = None,
    ) -> ConversationDataset:
        """A dataset of these dialogues with ``feats`` (``{modality: (N, D)}``, file order).

        Rows of ``feats`` follow :attr:`utterances`. Speakers are numbered per
        dialogue in order of appearance (as the readers of the public sets do).
        An utterance without a label (or with one outside ``label_names``)
        gets ``IGNORE_INDEX`` (-100).
        """
        names = list(label_names if label_names is not None else self.label_names)
        index = {n: i for i, n in enumerate(names)}
        n = len(self.utterances)
        for m, x in feats.items():
            if x.ndim != 2 or x.shape[0] != n:
                raise ValueError(f"features {m!r} have shape {x.shape}, want ({n}, D)")
        splits: dict[str, list[Conversation]] = {s: [] for s in SPLITS}
        start = 0
        for d in self.dialogues:
            k = len(d)
            who = {s: i for i, s in enumerate(dict.fromkeys(u.speaker for u in d.utterances))}
            labels = [
                index.get(u.label, IGNORE_INDEX) if u.label is not None else IGNORE_INDEX
                for u in d.utterances
            ]
            splits[d.split].append(
                Conversation(
                    d.id,
                    {
                        m: np.ascontiguousarray(x[start : start + k], np.float32)
                        for m, x in feats.items()
                    },
                    np.array([who[u.speaker] for u in d.utterances], dtype=np.int64),
                    np.array(labels, dtype=np.int64),
                    [u.text for u in d.utterances],
                )
            )
            start += k
        return ConversationDataset(
            name=self.path.stem,
            splits=splits,
            label_names=names,
            modalities={m: int(x.shape[1]) for m, x in feats.items()},
            provenance={"source": str(self.path.resolve()), **(provenance or {})},
        )


def read_conversations(
    path: str | Path,
    *,
    label_names: list[str] | None = None,
    check_audio: bool = True,
    max_problems: int = MAX_PROBLEMS,
) -> ConversationFile:
    """Read and check a conversation file (``.csv``, ``.jsonl`` or ``.ndjson``).

    Args:
        path: the file.
        label_names: the allowed labels (a label outside is a problem);
            default: the labels found.
        check_audio: check that every audio file exists and can be read.
        max_problems: how many problems to list (all are counted).

    Raises:
        ConversationFileError: (a ``DataError``) every problem, one line each.
        DataError: the file is missing, unreadable or of an unknown kind.
    """
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"a conversation file must end in {', '.join(SUFFIXES)}, got {path.suffix!r}",
            file=path,
        )
    if not path.is_file():
        raise DataError("no such file" if not path.exists() else "not a file", file=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text (byte {e.start})", file=path) from None
    except OSError as e:
        raise DataError(f"cannot read this file ({e.strerror})", file=path) from None
    reader = _Reader(path, label_names, check_audio)
    rows = _csv_rows(text, reader) if kind == "csv" else _jsonl_rows(text, reader)
    result = reader.finish(rows)
    problems = reader.problems
    if problems:
        raise ConversationFileError(path, problems[:max_problems], len(problems))
    return result


def conversations_from_records(
    records: list[Any],
    source: str,
    *,
    label_names: list[str] | None = None,
    check_audio: bool = True,
    max_problems: int = MAX_PROBLEMS,
) -> ConversationFile:
    """Check a conversation given as objects (a conversation file's rows as JSON, as a
    service receives it); problems name ``source``, the utterance (1-based) and the field.

    Audio paths must be absolute here (there is no file to be relative to).

    Raises:
        ConversationFileError: every problem, one line each.
    """
    reader = _Reader(Path(source), label_names, check_audio, unit="utterance")
    text = "\n".join(json.dumps(r) for r in records)
    result = reader.finish(_jsonl_rows(text, reader))
    if reader.problems:
        raise ConversationFileError(
            Path(source), reader.problems[:max_problems], len(reader.problems)
        )
    return result


Row = tuple[int, dict[str, Any]]


def _csv_rows(text: str, reader: _Reader) -> list[Row]:
    lines = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(lines)
    except StopIteration:
        reader.problem(1, None, "an empty file: want a header row " + ", ".join(REQUIRED))
        return []
    except csv.Error as e:
        reader.problem(1, None, f"not a readable CSV header ({e})")
        return []
    header = [h.strip() for h in header]
    if not any(c in header for c in REQUIRED):
        first = text.splitlines()[0][:60]
        raise DataError(
            f"not a conversation file but a CSV text file (it begins {first!r}) with none of "
            f"the columns {', '.join(REQUIRED)} (see docs/raw-conversations.md)",
            file=reader.path,
        )
    if not reader.check_header(header, 1):
        return []
    rows: list[Row] = []
    while True:
        line = lines.line_num + 1
        try:
            values = next(lines)
        except StopIteration:
            break
        except csv.Error as e:
            reader.problem(line, None, f"not readable CSV ({e})")
            break
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(header):
            reader.problem(line, None, f"{len(values)} fields, the header has {len(header)}")
            continue
        rows.append((line, {h: v for h, v in zip(header, values) if h in COLUMNS}))
    return rows


def _jsonl_rows(text: str, reader: _Reader) -> list[Row]:
    rows: list[Row] = []
    seen: set[str] = set()
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            reader.problem(line, None, f"not valid JSON ({e.msg} at character {e.pos + 1})")
            continue
        if not isinstance(obj, dict):
            reader.problem(line, None, f"a JSON {type(obj).__name__}, want an object")
            continue
        new = [k for k in obj if k not in seen]
        if new:
            seen.update(new)
            reader.check_unknown(new, line)
        missing = [c for c in REQUIRED if c not in obj]
        for c in missing:
            reader.problem(line, c, "missing")
        if missing:
            continue
        reader.present.update(k for k in obj if k in COLUMNS)
        rows.append((line, {k: v for k, v in obj.items() if k in COLUMNS}))
    reader.ignored = tuple(sorted(seen - set(COLUMNS)))
    return rows


def _turn_or_none(value: object) -> int | None:
    """The turn of a cell if it is an integer, else ``None`` (its problem is named elsewhere)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


class _Reader:
    """Collects the problems of one file while turning rows into utterances."""

    def __init__(
        self, path: Path, label_names: list[str] | None, check_audio: bool, unit: str = "line"
    ) -> None:
        self.path = path
        self.unit = unit
        self.label_names = label_names
        self.check_audio = check_audio
        self.found: list[tuple[int, str]] = []
        self.present: set[str] = set()
        self.ignored: tuple[str, ...] = ()
        self.audio_ok: dict[Path, str | None] = {}

    def problem(self, line: int, column: str | None, message: str) -> None:
        self.found.append((line, line_problem(self.path, line, column, message, self.unit)))

    @property
    def problems(self) -> list[str]:
        """The problems, in line order."""
        return [text for _, text in sorted(self.found, key=lambda p: p[0])]

    def check_header(self, header: list[str], line: int) -> bool:
        ok = True
        for c in REQUIRED:
            if c not in header:
                self.problem(line, c, "missing from the header" + _closest(c, header))
                ok = False
        dupes = [h for h, k in Counter(header).items() if k > 1 and h in COLUMNS]
        for c in dupes:
            self.problem(line, c, "appears twice in the header")
            ok = False
        self.check_unknown(header, line)
        self.present = {h for h in header if h in COLUMNS}
        self.ignored = tuple(h for h in header if h not in COLUMNS)
        return ok and not self.found

    def check_unknown(self, names: list[str], line: int) -> None:
        for name in names:
            if name in COLUMNS:
                continue
            hint = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.75)
            if hint and hint[0] not in names:
                self.problem(line, name, f"unknown column; did you mean {hint[0]!r}?")

    def finish(self, rows: list[Row]) -> ConversationFile:
        dialogues: dict[str, list[Utterance]] = {}
        splits: dict[str, str] = {}
        first_line: dict[tuple[str, int], int] = {}
        for line, row in rows:
            u = self._utterance(line, row)
            did = _cell(row.get("dialogue"))
            split = _cell(row.get("split")) or "train"
            if did and split in SPLITS:
                if did in splits and splits[did] != split:
                    self.problem(
                        line, "split", f"dialogue {did!r} is in {splits[did]!r} on an earlier line"
                    )
                splits.setdefault(did, split)
            turn = u.turn if u is not None else _turn_or_none(row.get("turn"))
            if turn is not None:  # a duplicate is named even when the row has other problems
                key = (did, turn)
                if key in first_line:
                    self.problem(
                        line,
                        "turn",
                        f"dialogue {did!r} has turn {turn} already ({self.unit} {first_line[key]})",
                    )
                    continue
                first_line[key] = line
            if u is not None:
                dialogues.setdefault(did, []).append(u)
        if not rows and not self.found:
            self.problem(1, None, "no utterances")
        found = sorted({u.label for us in dialogues.values() for u in us if u.label is not None})
        return ConversationFile(
            path=self.path,
            dialogues=[
                Dialogue(d, sorted(us, key=lambda u: u.turn), splits.get(d, "train"))
                for d, us in dialogues.items()
            ],
            columns=tuple(c for c in COLUMNS if c in self.present),
            label_names=list(self.label_names) if self.label_names is not None else found,
            ignored=self.ignored,
        )

    def _utterance(self, line: int, row: dict[str, Any]) -> Utterance | None:
        before = len(self.found)
        did = _cell(row.get("dialogue"))
        if not did:
            self.problem(line, "dialogue", "empty")
        turn = self._int(line, "turn", row.get("turn"))
        speaker = _cell(row.get("speaker"))
        if not speaker:
            self.problem(line, "speaker", "empty")
        text = row.get("text")
        if not isinstance(text, str):
            self.problem(line, "text", f"want a string, got {_show(text)}")
        label = self._label(line, row)
        split = _cell(row.get("split"))
        if "split" in self.present and split not in SPLITS:
            self.problem(line, "split", f"want one of {', '.join(SPLITS)}, got {_show(split)}")
        audio, start, end = self._audio(line, row)
        if len(self.found) > before or turn is None:
            return None
        return Utterance(turn, speaker, str(text), audio, start, end, label, line)

    def _int(self, line: int, column: str, value: Any) -> int | None:
        if isinstance(value, bool):
            value = None
        if isinstance(value, int):
            return value
        cell = _cell(value)
        try:
            return int(cell)
        except ValueError:
            self.problem(line, column, f"want an integer, got {_show(value)}")
            return None

    def _label(self, line: int, row: dict[str, Any]) -> str | None:
        if "label" not in self.present:
            return None
        label = _cell(row.get("label"))
        if not label:
            self.problem(line, "label", "empty (a file with a label column needs one on every row)")
            return None
        if self.label_names is not None and label not in self.label_names:
            self.problem(
                line, "label", f"unknown label {label!r}; known: {', '.join(self.label_names)}"
            )
            return None
        return label

    def _seconds(self, line: int, column: str, value: Any) -> float | None:
        cell = _cell(value)
        if value is None or cell == "":
            return None
        try:
            seconds = float(cell)
        except ValueError:
            self.problem(line, column, f"want seconds (a number), got {_show(value)}")
            return None
        if not math.isfinite(seconds) or seconds < 0:
            self.problem(line, column, f"want seconds >= 0, got {_show(value)}")
            return None
        return seconds

    def _audio(
        self, line: int, row: dict[str, Any]
    ) -> tuple[Path | None, float | None, float | None]:
        start = self._seconds(line, "start", row.get("start"))
        end = self._seconds(line, "end", row.get("end"))
        if start is not None and end is not None and end <= start:
            self.problem(line, "end", f"ends at {end} s, not after its start {start} s")
        name = _cell(row.get("audio"))
        if "audio" not in self.present:
            if start is not None or end is not None:
                self.problem(line, "start" if start is not None else "end", "given without audio")
            return None, start, end
        if not name:
            self.problem(
                line, "audio", "empty (a file with an audio column needs one on every row)"
            )
            return None, start, end
        audio = Path(name)
        if not audio.is_absolute():
            audio = self.path.parent / audio
        if self.check_audio:
            if audio not in self.audio_ok:
                self.audio_ok[audio] = _audio_problem(audio)
            problem = self.audio_ok[audio]
            if problem:
                self.problem(line, "audio", f"{name}: {problem}")
        return audio, start, end


def line_problem(
    path: Path, line: int, column: str | None, message: str, unit: str = "line"
) -> str:
    """``<file>: line <n>: column '<c>': <message>``, the one line of a problem."""
    where = f"{unit} {line}" + (f": column {column!r}" if column else "")
    return f"{path}: {where}: {message}"


def _audio_problem(audio: Path) -> str | None:
    """Why ``audio`` cannot be read, or ``None``."""
    if not audio.exists():
        return "no such file"
    if not audio.is_file():
        return "not a file"
    if not os.access(audio, os.R_OK):
        return "not readable (permissions)"
    try:
        with open(audio, "rb") as f:
            head = f.read(12)
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if not head:
        return "an empty file (0 bytes)"
    return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else repr(value.strip())


def _closest(name: str, options: list[str]) -> str:
    hint = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def is_conversation_file(path: str | Path) -> bool:
    """Whether ``path`` is named like a conversation file (``.csv``, ``.jsonl``, ``.ndjson``)."""
    return Path(path).suffix.lower() in SUFFIXES and Path(path).is_file()
