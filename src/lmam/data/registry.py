"""The dataset registry: ``create_dataset(name, path=None, **options)``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lmam.data.dataset import ConversationDataset
from lmam.registry import Registry

Loader = Callable[..., ConversationDataset]
L = TypeVar("L", bound=Loader)

DATASETS: Registry[Loader] = Registry("dataset")


def register_dataset(name: str, description: str = "") -> Callable[[L], L]:
    """Decorator adding a loader ``(path: Path | None, **options) -> ConversationDataset``."""
    return DATASETS.register(name, description)


def list_datasets(pattern: str = "*") -> list[str]:
    """Sorted names of the registered datasets matching the glob ``pattern``."""
    return DATASETS.names(pattern)


def describe_dataset(name: str) -> str:
    """The one-line description of a registered dataset."""
    return DATASETS.describe(name)


def create_dataset(
    name: str, path: str | Path | None = None, **options: object
) -> ConversationDataset:
    """Load the dataset ``name`` (from ``path`` where it needs files).

    Raises:
        OptionError: (a ``ValueError``) an unknown name or option, or an option
            value of the wrong type, naming the dataset and the option.
        DataError: bad data.
    """
    dataset: ConversationDataset = DATASETS.build(
        name, (Path(path) if path is not None else None,), options, reserved=("path",)
    )
    return dataset
