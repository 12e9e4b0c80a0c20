"""Small Diginetica-style folders written in the published structure."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest


def write_sessions(
    directory: Path, num_sessions: int = 60, num_items: int = 30, seed: int = 0
) -> None:
    """``all_train_seq.txt`` (a list of sessions) and ``test.txt`` ((prefixes, targets)).
    Sessions walk over items with a learnable pattern (mostly item + 1)."""
    rng = np.random.default_rng(seed)

    def session() -> list[int]:
        start = int(rng.integers(1, num_items + 1))
        length = int(rng.integers(2, 7))
        return [(start + k - 1) % num_items + 1 for k in range(length)]

    directory.mkdir(parents=True, exist_ok=True)
    train = [session() for _ in range(num_sessions)]
    test = [session() for _ in range(20)]
    with open(directory / "all_train_seq.txt", "wb") as f:
        pickle.dump(train, f)
    with open(directory / "test.txt", "wb") as f:
        pickle.dump(([s[:-1] for s in test], [s[-1] for s in test]), f)


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    write_sessions(tmp_path / "digi")
    return tmp_path / "digi"
