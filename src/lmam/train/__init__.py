"""Training, evaluation and prediction."""

from lmam.train.config import TrainConfig
from lmam.train.engine import Trainer, resume, train

__all__ = ["TrainConfig", "Trainer", "resume", "train"]
