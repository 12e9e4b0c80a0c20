"""Backbones (contextual encoders) that take any fusion at any embedding point.

Each backbone is one spec (:func:`~lmam.models.registry.register_backbone`),
registered by importing its file; the order here is the order of the paper's
tables.
"""

from lmam.models import textcnn as _textcnn  # noqa: F401  isort: skip
from lmam.models import bclstm as _bclstm  # noqa: F401  isort: skip
from lmam.models import dialoguernn as _dialoguernn  # noqa: F401  isort: skip
from lmam.models import dialoguegcn as _dialoguegcn  # noqa: F401  isort: skip
from lmam.models import mmdfn as _mmdfn  # noqa: F401  isort: skip
from lmam.models import m2fnet as _m2fnet  # noqa: F401  isort: skip
from lmam.models import emocaps as _emocaps  # noqa: F401  isort: skip
from lmam.models.erc_model import EMBEDS, Encoder, ERCModel, MultimodalEncoder
from lmam.models.registry import (
    Backbone,
    backbones,
    create_model,
    get_backbone,
    list_models,
    register_backbone,
)

__all__ = [
    "EMBEDS",
    "Backbone",
    "ERCModel",
    "Encoder",
    "MultimodalEncoder",
    "backbones",
    "create_model",
    "get_backbone",
    "list_models",
    "register_backbone",
]
