"""Conversations, datasets, readers for the public ERC formats, and batching."""

from lmam.data import synthetic as _synthetic  # noqa: F401  (registers "synthetic")
from lmam.data.errors import DataError
from lmam.data.registry import create_dataset, describe_dataset, list_datasets, register_dataset
from lmam.data.splits import carve_valid
from lmam.data.types import (
    IGNORE_INDEX,
    SPLITS,
    Batch,
    Conversation,
    ConversationDataset,
    collate,
)

__all__ = [
    "IGNORE_INDEX",
    "SPLITS",
    "Batch",
    "Conversation",
    "ConversationDataset",
    "DataError",
    "carve_valid",
    "collate",
    "create_dataset",
    "describe_dataset",
    "list_datasets",
    "register_dataset",
]
