"""Raw conversation files: reading CSV and JSON Lines, and every problem as one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lmam.cli import app
from lmam.data import DataError
from lmam.data.conversation_files import ConversationFileError, read_conversations

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "conversations.csv"


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip())
    return path


def test_csv_and_jsonl_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF....WAVE")
    csv_file = write_csv(
        tmp_path / "c.csv",
        """
dialogue,turn,speaker,text,audio,start,end,label,notes
d1,2,Bo,"later, with a comma",a.wav,1.5,3,joy,x
d1,1,Al,first,a.wav,0,1.5,anger,y
d2,0,Al,other,a.wav,,,joy,z
""",
    )
    rows = [
        {"dialogue": "d1", "turn": 2, "speaker": "Bo", "text": "later, with a comma",
         "audio": "a.wav", "start": 1.5, "end": 3, "label": "joy"},
        {"dialogue": "d1", "turn": 1, "speaker": "Al", "text": "first", "audio": "a.wav",
         "start": 0, "end": 1.5, "label": "anger"},
        {"dialogue": "d2", "turn": 0, "speaker": "Al", "text": "other", "audio": "a.wav",
         "label": "joy"},
    ]  # fmt: skip
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b = read_conversations(csv_file), read_conversations(jsonl)
    for conv in (a, b):
        assert [d.id for d in conv.dialogues] == ["d1", "d2"]
        d1 = conv.dialogues[0]
        assert [u.turn for u in d1.utterances] == [1, 2]  # ordered by turn, not by line
        assert [u.text for u in d1.utterances] == ["first", "later, with a comma"]
        assert d1.utterances[1].audio == tmp_path / "a.wav"
        assert (d1.utterances[1].start, d1.utterances[1].end) == (1.5, 3.0)
        assert conv.dialogues[1].utterances[0].start is None
        assert conv.label_names == ["anger", "joy"]
        assert conv.speakers == ["Al", "Bo"]
        assert conv.columns == (
            "dialogue",
            "turn",
            "speaker",
            "text",
            "audio",
            "start",
            "end",
            "label",
        )
    assert a.ignored == ("notes",)
    assert a.dialogues[0].utterances[0].line == 3 and b.dialogues[0].utterances[0].line == 2


def test_every_problem_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "ok.wav").write_bytes(b"RIFF")
    path = write_csv(
        tmp_path / "bad.csv",
        """
dialogue,turn,speaker,text,audio,start,end,label
d1,0,Al,hi,ok.wav,,,joy
d1,0,Bo,again,ok.wav,,,joy
d1,one,Bo,x,ok.wav,,,joy
d1,2,Bo,x,missing.wav,,,joy
d1,3,Bo,x,empty.wav,,,joy
d1,4,Bo,x,ok.wav,,,rage
d1,5,Bo,x,ok.wav,2,1,joy
d1,6,Bo,x,ok.wav,-1,,joy
d1,7,,x,ok.wav,,,joy
""",
    )
    with pytest.raises(ConversationFileError) as info:
        read_conversations(path, label_names=["joy", "anger"])
    lines = str(info.value).split("\n")
    expected = [
        (3, "turn", "dialogue 'd1' has turn 0 already (line 2)"),
        (4, "turn", "want an integer, got 'one'"),
        (5, "audio", "missing.wav: no such file"),
        (6, "audio", "empty.wav: an empty file"),
        (7, "label", "unknown label 'rage'; known: joy, anger"),
        (8, "end", "ends at 1.0 s, not after its start 2.0 s"),
        (9, "start", "want seconds >= 0, got '-1'"),
        (10, "speaker", "empty"),
    ]
    assert len(lines) == len(expected)
    for line, (n, column, message) in zip(sorted(lines, key=_line_number), expected):
        assert line.startswith(f"{path}: line {n}: column '{column}': "), line
        assert message in line
    assert isinstance(info.value, DataError)


def _line_number(line: str) -> int:
    return int(line.split(": line ")[1].split(":")[0])


def test_missing_columns_and_a_misspelt_one(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "dialogue,speaker,txt,lable\nd,Al,hi,joy\n")
    with pytest.raises(ConversationFileError) as info:
        read_conversations(path)
    lines = info.value.lines
    assert f"{path}: line 1: column 'turn': missing from the header" in lines
    assert any("column 'text': missing from the header; did you mean 'txt'?" in x for x in lines)
    assert any("column 'lable': unknown column; did you mean 'label'?" in x for x in lines)


def test_problems_are_listed_up_to_the_limit_and_counted(tmp_path: Path) -> None:
    body = "".join(f"d,x{i},Al,hi\n" for i in range(30))
    path = write_csv(tmp_path / "c.csv", "dialogue,turn,speaker,text\n" + body)
    with pytest.raises(ConversationFileError) as info:
        read_conversations(path, max_problems=5)
    assert info.value.total == 30 and len(info.value.problems) == 5
    assert info.value.lines[-1] == f"{path}: ... and 25 more problem(s)"


def test_jsonl_problems(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"dialogue": "d", "turn": 0, "speaker": "A", "text": "hi"}\n'
        "{not json\n"
        "[1, 2]\n"
        '{"dialogue": "d", "turn": 1.5, "speaker": "A", "text": "x"}\n'
        '{"dialogue": "d", "speaker": "A", "text": "x"}\n'
    )
    with pytest.raises(ConversationFileError) as info:
        read_conversations(path)
    lines = info.value.lines
    assert lines[0].startswith(f"{path}: line 2: not valid JSON")
    assert lines[1] == f"{path}: line 3: a JSON list, want an object"
    assert lines[2] == f"{path}: line 4: column 'turn': want an integer, got 1.5"
    assert lines[3] == f"{path}: line 5: column 'turn': missing"


def test_an_optional_column_must_be_filled_and_splits_are_checked(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        "dialogue,turn,speaker,text,label,split\nd,0,A,hi,,train\nd,1,A,x,joy,test\ne,0,A,x,joy,dev\n",
    )
    with pytest.raises(ConversationFileError) as info:
        read_conversations(path)
    lines = info.value.lines
    assert any("line 2: column 'label': empty" in x for x in lines)
    assert any("line 3: column 'split': dialogue 'd' is in 'train'" in x for x in lines)
    assert any(
        "line 4: column 'split': want one of train, valid, test, got 'dev'" in x for x in lines
    )


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_conversations(tmp_path / "none.csv")
    with pytest.raises(DataError, match=r"must end in \.csv"):
        read_conversations(tmp_path / "x.txt")
    (tmp_path / "latin.csv").write_bytes(
        "dialogue,turn,speaker,text\nd,0,A,caf\xe9\n".encode("latin-1")
    )
    with pytest.raises(DataError, match="not UTF-8"):
        read_conversations(tmp_path / "latin.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="an empty file"):
        read_conversations(tmp_path / "empty.csv")


def test_to_dataset_numbers_speakers_per_dialogue_and_keeps_splits() -> None:
    conv = read_conversations(EXAMPLE)
    n = len(conv.utterances)
    feats = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    ds = conv.to_dataset({"text": feats})
    assert [len(ds.splits[s]) for s in ("train", "valid", "test")] == [2, 1, 1]
    d2 = ds.train[1]
    assert d2.id == "d2" and d2.speakers.tolist() == [0, 1, 0]  # Ben first in d2
    assert [ds.label_names[i] for i in d2.labels] == ["anger", "sadness", "neutral"]
    assert d2.feats["text"].tolist() == feats[3:6].tolist()
    assert ds.test[0].texts == ["The flight is cancelled again.", "Oh no, we'll miss the wedding."]


def test_data_info_cli(tmp_path: Path) -> None:
    r = runner.invoke(app, ["data", "info", str(EXAMPLE)])
    assert r.exit_code == 0, r.output
    for expected in (
        "dialogues",
        "│ 4",
        "│ 10",
        "label, split",
        "anger, fear, joy, neutral, sadness",
    ):
        assert expected in r.output
    bad = write_csv(tmp_path / "bad.csv", "dialogue,turn,speaker,text\nd,a,A,x\nd,b,A,y\n")
    r = runner.invoke(app, ["data", "info", str(bad)])
    assert r.exit_code == 1
    lines = [x for x in r.output.splitlines() if x]
    assert lines == [
        f"error: {bad}: line 2: column 'turn': want an integer, got 'a'",
        f"error: {bad}: line 3: column 'turn': want an integer, got 'b'",
    ]
    assert "Traceback" not in r.output


def test_a_csv_that_is_not_a_conversation_file_is_one_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(DataError) as info:
        read_conversations(path)
    assert not isinstance(info.value, ConversationFileError)
    assert "not a conversation file but a CSV text file (it begins 'a,b,c')" in str(info.value)
    r = runner.invoke(app, ["train", "--dataset", str(EXAMPLE), "--out-dir", str(tmp_path / "r")])
    assert (
        r.exit_code == 1 and "has no features yet" in r.output and "lmam features text" in r.output
    )
    assert not (tmp_path / "r").exists()


def test_a_duplicate_turn_is_named_even_when_its_row_has_other_problems(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "talk.csv",
        "dialogue,turn,speaker,text,audio\nd1,0,A,hello,\nd1,0,B,again,missing.wav\n",
    )
    with pytest.raises(ConversationFileError) as e:
        read_conversations(path)
    problems = e.value.problems
    assert any(
        "line 3: column 'turn': dialogue 'd1' has turn 0 already (line 2)" in p for p in problems
    )
    assert any("line 3: column 'audio'" in p and "missing.wav" in p for p in problems)
