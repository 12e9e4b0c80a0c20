"""The Diginetica reader on fixtures in the published structure and on the real files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from lmam.data.errors import DataError
from lmam.tasks.session.data import expand, load_sessions, split_sessions

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "diginetica"


def test_prefix_expansion() -> None:
    cases = expand([[1, 2, 3, 4], [5, 6]])
    assert cases.prefixes == [[1, 2, 3], [1, 2], [1], [5]]
    assert cases.targets == [4, 3, 2, 6]


def test_reader_on_fixture(session_dir: Path) -> None:
    data = load_sessions(session_dir, valid_fraction=0.2, split_seed=1)
    with open(session_dir / "all_train_seq.txt", "rb") as f:
        sessions = pickle.load(f)  # our own fixture
    assert len(data.train_sessions) == 48
    assert len(data.train) + len(data.valid) == sum(len(s) - 1 for s in sessions)
    assert len(data.test) == 20
    assert data.num_items == 30
    again = load_sessions(session_dir, valid_fraction=0.2, split_seed=1)
    assert again.valid.targets == data.valid.targets  # seeded
    sub = load_sessions(session_dir, max_cases=10)
    assert len(sub.train) == 10


def test_split_is_by_session() -> None:
    sessions = [[i, i + 1] for i in range(1, 101)]
    train, valid = split_sessions(sessions, 0.1, seed=3)
    assert len(valid) == 10 and len(train) == 90
    assert not {tuple(s) for s in train} & {tuple(s) for s in valid}


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("all_train_seq.txt", {"a": 1}, "expected a non-empty list of sessions"),
        ("all_train_seq.txt", [[1, 2], [0, 3]], "session 1: item ids must be integers >= 1"),
        ("all_train_seq.txt", [[1, 2], []], "session 1: expected a non-empty list"),
        ("test.txt", [[1, 2]], "expected a pair"),
        ("test.txt", ([[1]], [2, 3]), "1 prefixes but 2 targets"),
        ("test.txt", ([[1]], ["x"]), "target 0"),
    ],
)
def test_bad_files_name_file_and_field(
    session_dir: Path, name: str, payload: object, message: str
) -> None:
    with open(session_dir / name, "wb") as f:
        pickle.dump(payload, f)
    with pytest.raises(DataError, match=message) as err:
        load_sessions(session_dir)
    assert name in str(err.value)


def test_missing_and_unsafe_files(session_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        load_sessions(tmp_path / "nowhere")
    os.remove(session_dir / "test.txt")
    with pytest.raises(DataError, match=r"test\.txt: no such file"):
        load_sessions(session_dir)
    with open(session_dir / "test.txt", "wb") as f:
        pickle.dump(os.getcwd, f)  # a global outside the allow-list
    with pytest.raises(DataError, match="refused to load"):
        load_sessions(session_dir)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the Diginetica files are not at {REAL}")
def test_real_diginetica_counts() -> None:
    data = load_sessions(REAL, valid_fraction=0.1, split_seed=0)
    assert len(data.train) + len(data.valid) == 719_470
    assert len(data.train_sessions) + round(186_670 * 0.1) == 186_670
    assert len(data.test) == 60_858
    assert data.num_items == 43_097
