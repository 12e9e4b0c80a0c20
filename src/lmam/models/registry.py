"""The model (backbone) registry: ``create_model(name, fusion=..., embed=..., ...)``."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import TypeVar

from torch import nn

M = TypeVar("M", bound=Callable[..., nn.Module])

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[M], M]:
    """Decorator adding a model factory ``(**kwargs) -> nn.Module`` under ``name``."""

    def add(factory: M) -> M:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is already registered")
        _MODELS[name] = factory
        return factory

    return add


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered models matching the glob ``pattern``."""
    return sorted(n for n in _MODELS if fnmatch.fnmatchcase(n, pattern))


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build the model ``name`` (see :class:`lmam.models.base.ERCModel` for the arguments).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return _MODELS[name](**kwargs)
