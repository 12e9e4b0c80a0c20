"""lmam: multimodal conversational emotion recognition with low-rank matching attention."""

from lmam.data import create_dataset, list_datasets
from lmam.fusion import create_fusion, list_fusions, register_fusion
from lmam.nn import LMAM

__version__ = "0.1.0"

__all__ = [
    "LMAM",
    "__version__",
    "create_dataset",
    "create_fusion",
    "list_datasets",
    "list_fusions",
    "register_fusion",
]
