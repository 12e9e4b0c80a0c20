"""The dataset registry: ``create_dataset(name, path=None, **options)``."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lmam.data.types import ConversationDataset

Loader = Callable[..., ConversationDataset]
L = TypeVar("L", bound=Loader)

_DATASETS: dict[str, Loader] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_dataset(name: str, description: str = "") -> Callable[[L], L]:
    """Decorator adding a loader ``(path: Path | None, **options) -> ConversationDataset``."""

    def add(loader: L) -> L:
        if name in _DATASETS:
            raise ValueError(f"dataset {name!r} is already registered")
        _DATASETS[name] = loader
        _DESCRIPTIONS[name] = description or (loader.__doc__ or "").strip().split("\n")[0]
        return loader

    return add


def list_datasets(pattern: str = "*") -> list[str]:
    """Sorted names of the registered datasets matching the glob ``pattern``."""
    return sorted(n for n in _DATASETS if fnmatch.fnmatchcase(n, pattern))


def describe_dataset(name: str) -> str:
    """The one-line description of a registered dataset."""
    return _DESCRIPTIONS[name]


def create_dataset(
    name: str, path: str | Path | None = None, **options: object
) -> ConversationDataset:
    """Load the dataset ``name`` (from ``path`` where it needs files).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in _DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}")
    return _DATASETS[name](Path(path) if path is not None else None, **options)
