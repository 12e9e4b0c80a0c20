"""Diginetica sessions for session recommendation (SR-GNN / DHCN preprocessing).

The published folder holds two pickles, read with the restricted unpickler
(:func:`lmam.data.safe_pickle.safe_load`, nothing in them is ever run):

- ``all_train_seq.txt``: a list of training sessions, each a list of item ids
  (``1..N``) in click order;
- ``test.txt``: a pair ``(prefixes, targets)``: test prefixes and the next item.

Training cases are the prefixes of every training session with their next
item (``s[:-i] -> s[-i]``, ``i = 1..len(s)-1``): 719,470 on Diginetica.
A seeded share of the training *sessions* (not cases, so that no prefix of a
validation session is trained on) is held out for validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmam.data.errors import DataError
from lmam.data.safe_pickle import safe_load

TRAIN_FILE = "all_train_seq.txt"
TEST_FILE = "test.txt"

Session = list[int]


@dataclass
class Cases:
    """Prefixes and the item that follows each (item ids ``1..N``)."""

    prefixes: list[Session]
    targets: list[int]

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, index: np.ndarray) -> Cases:
        """The cases at ``index`` (in that order)."""
        return Cases([self.prefixes[i] for i in index], [self.targets[i] for i in index])


@dataclass
class SessionData:
    """Everything a run needs: the training sessions (the hypergraph's edges),
    training / validation / test cases and the number of items ``N``."""

    train_sessions: list[Session]
    train: Cases
    valid: Cases
    test: Cases
    num_items: int


def _check_session(seq: object, file: Path, where: str) -> Session:
    if not isinstance(seq, (list, tuple)) or not seq:
        raise DataError(
            f"{where}: expected a non-empty list of item ids, got {seq!r:.60}", file=file
        )
    out = []
    for item in seq:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < 1:
            raise DataError(f"{where}: item ids must be integers >= 1, got {item!r:.40}", file=file)
        out.append(int(item))
    return out


def read_train_sessions(path: Path) -> list[Session]:
    """The training sessions of ``all_train_seq.txt``.

    Raises:
        DataError: unreadable file, or not a list of lists of positive ints.
    """
    raw = safe_load(path)
    if not isinstance(raw, list) or not raw:
        raise DataError(
            f"expected a non-empty list of sessions, got {type(raw).__name__}", file=path
        )
    return [_check_session(s, path, f"session {i}") for i, s in enumerate(raw)]


def read_test_cases(path: Path) -> Cases:
    """The test prefixes and targets of ``test.txt``.

    Raises:
        DataError: unreadable file, or not a pair ``(prefixes, targets)`` of equal length.
    """
    raw = safe_load(path)
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise DataError("expected a pair (prefixes, targets)", file=path)
    prefixes, targets = raw
    if not isinstance(prefixes, (list, tuple)) or not isinstance(targets, (list, tuple)):
        raise DataError("expected a pair of lists (prefixes, targets)", file=path)
    if len(prefixes) != len(targets):
        raise DataError(f"{len(prefixes)} prefixes but {len(targets)} targets", file=path)
    checked = [_check_session(s, path, f"prefix {i}") for i, s in enumerate(prefixes)]
    target_ids = [_check_session([t], path, f"target {i}")[0] for i, t in enumerate(targets)]
    return Cases(checked, target_ids)


def expand(sessions: list[Session]) -> Cases:
    """Every prefix of every session with its next item, ``s[:-i] -> s[-i]``
    for ``i = 1..len(s)-1`` (the SR-GNN order: longest prefix first)."""
    prefixes: list[Session] = []
    targets: list[int] = []
    for s in sessions:
        for i in range(1, len(s)):
            prefixes.append(s[:-i])
            targets.append(s[-i])
    return Cases(prefixes, targets)


def split_sessions(
    sessions: list[Session], valid_fraction: float, seed: int
) -> tuple[list[Session], list[Session]]:
    """A seeded ``(train, valid)`` split of the sessions (``valid_fraction`` of them)."""
    order = np.random.default_rng(seed).permutation(len(sessions))
    n_valid = round(len(sessions) * valid_fraction)
    valid = {int(i) for i in order[:n_valid]}
    return (
        [s for i, s in enumerate(sessions) if i not in valid],
        [s for i, s in enumerate(sessions) if i in valid],
    )


def load_sessions(
    directory: str | Path,
    *,
    valid_fraction: float = 0.1,
    split_seed: int = 0,
    max_cases: int | None = None,
    sample_seed: int = 0,
) -> SessionData:
    """Read a Diginetica-style folder and build the cases.

    Args:
        directory: the folder with ``all_train_seq.txt`` and ``test.txt``.
        valid_fraction: share of the training sessions held out for selection.
        split_seed: seed of that split.
        max_cases: keep a seeded random subsample of this many training cases
            (``None``: all). Validation and test stay whole.
        sample_seed: seed of the subsample.

    Raises:
        DataError: a missing or malformed file, naming it.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("no such folder", file=directory)
    sessions = read_train_sessions(directory / TRAIN_FILE)
    test = read_test_cases(directory / TEST_FILE)
    num_items = max(
        max(max(s) for s in sessions), max(max(s) for s in test.prefixes), max(test.targets)
    )
    train_sessions, valid_sessions = split_sessions(sessions, valid_fraction, split_seed)
    train = expand(train_sessions)
    if max_cases is not None and max_cases < len(train):
        pick = np.sort(
            np.random.default_rng(sample_seed).choice(len(train), max_cases, replace=False)
        )
        train = train.subset(pick)
    return SessionData(train_sessions, train, expand(valid_sessions), test, num_items)
