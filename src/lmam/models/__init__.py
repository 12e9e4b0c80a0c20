"""Backbones (contextual encoders) that take any fusion at any embedding point."""

from lmam.models import bclstm as _bclstm  # noqa: F401  (registers "bclstm")
from lmam.models.base import EMBEDS, ERCModel
from lmam.models.registry import create_model, list_models, register_model

__all__ = ["EMBEDS", "ERCModel", "create_model", "list_models", "register_model"]
