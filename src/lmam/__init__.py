"""lmam: multimodal conversational emotion recognition with low-rank matching attention.

The names below are imported on first use (``lmam.create_model`` loads torch
then), so that ``lmam --help`` and ``lmam --version`` start at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lmam.version import __version__

_WHERE = {
    "LMAM": "lmam.nn",
    "DataError": "lmam.data",
    "OptionError": "lmam.errors",
    "Predictor": "lmam.train.predictor",
    "RunError": "lmam.errors",
    "create_dataset": "lmam.data",
    "create_fusion": "lmam.fusion",
    "create_model": "lmam.models",
    "list_datasets": "lmam.data",
    "list_fusions": "lmam.fusion",
    "list_models": "lmam.models",
    "register_fusion": "lmam.fusion",
    "register_backbone": "lmam.models",
}

if TYPE_CHECKING:
    from lmam.data import DataError, create_dataset, list_datasets
    from lmam.errors import OptionError, RunError
    from lmam.fusion import create_fusion, list_fusions, register_fusion
    from lmam.models import create_model, list_models, register_backbone
    from lmam.nn import LMAM
    from lmam.train.predictor import Predictor


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        if _WHERE[name] == "lmam.data":  # with the datasets lmam.features registers
            importlib.import_module("lmam.features")
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lmam' has no attribute {name!r}")


__all__ = [
    "LMAM",
    "DataError",
    "OptionError",
    "Predictor",
    "RunError",
    "__version__",
    "create_dataset",
    "create_fusion",
    "create_model",
    "list_datasets",
    "list_fusions",
    "list_models",
    "register_backbone",
    "register_fusion",
]
