"""Conversations, datasets, readers for the public ERC formats, and batching.

The datasets built from transcripts (``iemocap-text``, ``meld-text``) are
registered by :mod:`lmam.features` (which the training engine and the command
line import), since building them takes a sentence encoder.
"""

from lmam.data import mfn as _mfn  # noqa: F401  (registers "pom", "youtube", "mmmo")
from lmam.data import mosi as _mosi  # noqa: F401  (registers "mosi", "mosi-bclstm")
from lmam.data import synthetic as _synthetic  # noqa: F401  (registers "synthetic")
from lmam.data.dataset import (
    IGNORE_INDEX,
    SPLITS,
    Batch,
    Conversation,
    ConversationDataset,
    collate,
)
from lmam.data.detect import open_dataset
from lmam.data.erc_pickles import read_erc_pickle  # registers "iemocap-pickle", "meld-pickle"
from lmam.data.errors import DataError
from lmam.data.lmam_format import is_ours, load_dataset, save_dataset
from lmam.data.meld_csv import read_meld_csv  # registers "meld-csv"
from lmam.data.registry import create_dataset, describe_dataset, list_datasets, register_dataset
from lmam.data.safe_pickle import safe_load
from lmam.data.splits import carve_valid
from lmam.data.transcripts import read_transcripts  # registers "*-transcripts"
from lmam.data.validate import validate_dataset

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
    "is_ours",
    "list_datasets",
    "load_dataset",
    "open_dataset",
    "read_erc_pickle",
    "read_meld_csv",
    "read_transcripts",
    "register_dataset",
    "safe_load",
    "save_dataset",
    "validate_dataset",
]
