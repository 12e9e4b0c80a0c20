"""The fusion registry: one entry point to build any fusion by name."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from typing import TypeVar

from lmam.nn.base import FusionModule

F = TypeVar("F", bound=Callable[..., FusionModule])

_FUSIONS: dict[str, Callable[..., FusionModule]] = {}


def register_fusion(name: str) -> Callable[[F], F]:
    """Class (or factory) decorator adding a fusion to the registry under ``name``.

    The callable must accept ``(in_dims, out_dim, **options)`` and return a
    :class:`~lmam.nn.base.FusionModule`.
    """

    def add(factory: F) -> F:
        if name in _FUSIONS:
            raise ValueError(f"fusion {name!r} is already registered")
        _FUSIONS[name] = factory
        return factory

    return add


def list_fusions(pattern: str = "*") -> list[str]:
    """Sorted names of the registered fusions matching the glob ``pattern``."""
    return sorted(n for n in _FUSIONS if fnmatch.fnmatchcase(n, pattern))


def fusion_factory(name: str) -> Callable[..., FusionModule]:
    """The registered class (or factory) of ``name``, e.g. to read its class attributes.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in _FUSIONS:
        raise ValueError(f"unknown fusion {name!r}; known fusions: {', '.join(list_fusions())}")
    return _FUSIONS[name]


def create_fusion(
    name: str, *, in_dims: Mapping[str, int], out_dim: int, **options: object
) -> FusionModule:
    """Build the fusion ``name``.

    Args:
        name: a name from :func:`list_fusions`.
        in_dims: ``{modality: width}``, in the fixed modality order.
        out_dim: the output width (see each fusion for its exact meaning).
        **options: the fusion's own options.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    return fusion_factory(name)(in_dims, out_dim, **options)
