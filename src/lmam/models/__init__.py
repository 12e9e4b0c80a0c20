"""Backbones (contextual encoders) that take any fusion at any embedding point."""

from lmam.models import bclstm as _bclstm  # noqa: F401  (registers "bclstm")
from lmam.models import dialoguegcn as _dialoguegcn  # noqa: F401  (registers "dialoguegcn")
from lmam.models import dialoguernn as _dialoguernn  # noqa: F401  (registers "dialoguernn")
from lmam.models import emocaps as _emocaps  # noqa: F401  (registers "emocaps")
from lmam.models import m2fnet as _m2fnet  # noqa: F401  (registers "m2fnet")
from lmam.models import mmdfn as _mmdfn  # noqa: F401  (registers "mmdfn")
from lmam.models import textcnn as _textcnn  # noqa: F401  (registers "textcnn")
from lmam.models.base import EMBEDS, Encoder, ERCModel, MultimodalEncoder
from lmam.models.registry import create_model, list_models, register_model

__all__ = [
    "EMBEDS",
    "ERCModel",
    "Encoder",
    "MultimodalEncoder",
    "create_model",
    "list_models",
    "register_model",
]
