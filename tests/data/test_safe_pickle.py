"""safe_load: plain data and numpy arrays load; anything that could run code is refused."""

from __future__ import annotations

import collections
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lmam.data import DataError
from lmam.data.safe_pickle import safe_load


def dump(path: Path, obj: object, protocol: int = pickle.HIGHEST_PROTOCOL) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


class RunsShell:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.target}",))


class RunsPopen:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[list[str]]]:
        return (subprocess.Popen, (["touch", str(self.target)],))


class Plain:
    pass


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_os_system_is_refused_and_nothing_runs(tmp_path: Path, protocol: int) -> None:
    target = tmp_path / "pwned"
    path = dump(tmp_path / "evil.pkl", {"x": [RunsShell(target)]}, protocol)
    with pytest.raises(DataError) as info:
        safe_load(path)
    assert not target.exists()
    message = str(info.value)
    assert str(path) in message
    assert "system" in message and "refused" in message
    assert info.value.file == str(path)


def test_popen_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    path = dump(tmp_path / "evil.pkl", (1, RunsPopen(target)))
    with pytest.raises(DataError, match=r"subprocess\.Popen"):
        safe_load(path)
    assert not target.exists()


def test_eval_is_refused(tmp_path: Path) -> None:
    # a hand-written protocol-0 pickle calling builtins.eval
    path = tmp_path / "eval.pkl"
    path.write_bytes(b"cbuiltins\neval\n(S'1+1'\ntR.")
    with pytest.raises(DataError, match=r"builtins\.eval"):
        safe_load(path)


def test_arbitrary_class_instances_are_refused(tmp_path: Path) -> None:
    path = dump(tmp_path / "obj.pkl", [Plain()])
    with pytest.raises(DataError, match="Plain"):
        safe_load(path)


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_plain_data_and_numpy_arrays_load(tmp_path: Path, protocol: int) -> None:
    obj = (
        {"Ses01": ["M", "F"], 3: [[1, 0], [0, 1]]},
        [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1.5, np.nan])],
        {"a", "b"},
        frozenset({1}),
        b"raw bytes",
        bytearray(b"x"),
        np.float64(2.5),
        np.int64(7),
        collections.OrderedDict(z=1),
        collections.defaultdict(list, {"k": [1]}),
        np.array(["txt"], dtype=object),
        (1.0, True, None, 1 + 2j),
    )
    loaded = safe_load(dump(tmp_path / f"ok{protocol}.pkl", obj, protocol))
    assert isinstance(loaded, tuple)
    assert loaded[0] == obj[0]
    np.testing.assert_array_equal(loaded[1][0], obj[1][0])
    assert loaded[1][0].dtype == np.float32
    np.testing.assert_array_equal(loaded[1][1], obj[1][1])
    assert loaded[2:6] == obj[2:6]
    assert loaded[6] == 2.5 and loaded[7] == 7
    assert loaded[8] == obj[8] and loaded[9] == obj[9]
    assert loaded[10][0] == "txt"
    assert loaded[11] == obj[11]


def test_numpy1_module_names_load(tmp_path: Path) -> None:
    # pickles written under numpy 1 name numpy.core.multiarray, not numpy._core
    raw = pickle.dumps(np.arange(4.0), protocol=2)
    old = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in old
    path = tmp_path / "np1.pkl"
    path.write_bytes(old)
    np.testing.assert_array_equal(safe_load(path), np.arange(4.0))


def test_python2_latin1_strings(tmp_path: Path) -> None:
    # Python 2 str (protocol 2 SHORT_BINSTRING) holding cp1252 byte 0x92
    path = tmp_path / "py2.pkl"
    path.write_bytes(b"\x80\x02U\x04it\x92s.")
    assert safe_load(path) == "it\x92s"


def test_python2_builtin_module_name(tmp_path: Path) -> None:
    path = tmp_path / "py2set.pkl"
    path.write_bytes(b"c__builtin__\nset\n((lp0\nI1\naI2\natR.")
    assert safe_load(path) == {1, 2}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        safe_load(tmp_path / "absent.pkl")


def test_not_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "text.pkl"
    path.write_text("hello, I am a CSV\n1,2,3\n")
    with pytest.raises(DataError, match="not a pickle but a CSV text file") as info:
        safe_load(path)
    assert info.value.file == str(path)


def test_truncated_pickle(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps(list(range(1000)))[:50])
    with pytest.raises(DataError, match="not a readable pickle: truncated or damaged"):
        safe_load(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="directory"):
        safe_load(tmp_path)
