"""The model (backbone) registry: ``create_model(name, fusion=..., embed=..., ...)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

from lmam.registry import Registry

M = TypeVar("M", bound=Callable[..., nn.Module])

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


def register_model(name: str) -> Callable[[M], M]:
    """Decorator adding a model factory ``(**kwargs) -> nn.Module`` under ``name``."""
    return MODELS.register(name)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered models matching the glob ``pattern``."""
    return MODELS.names(pattern)


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build the model ``name`` (see :class:`lmam.models.base.ERCModel` for the arguments).

    Raises:
        OptionError: (a ``ValueError``) an unknown name or option, or a bad
            option value, naming the model, the option and what it takes.
    """
    model: nn.Module = MODELS.build(
        name, (), kwargs, reserved=("in_dims", "num_classes"), reword=True
    )
    return model
