"""lmam: multimodal conversational emotion recognition with low-rank matching attention."""

from lmam.data import DataError, create_dataset, list_datasets
from lmam.errors import OptionError, RunError
from lmam.fusion import create_fusion, list_fusions, register_fusion
from lmam.models import create_model, list_models, register_model
from lmam.nn import LMAM
from lmam.train.predictor import Predictor

__version__ = "0.1.0"

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
    "register_fusion",
    "register_model",
]
