"""The fusion registry: one entry point to build any fusion by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from lmam.nn.fusion_module import FusionModule
from lmam.registry import Registry

F = TypeVar("F", bound=Callable[..., FusionModule])

FUSIONS: Registry[Callable[..., FusionModule]] = Registry("fusion")


def register_fusion(name: str) -> Callable[[F], F]:
    """Class (or factory) decorator adding a fusion to the registry under ``name``.

    The callable must accept ``(in_dims, out_dim, **options)`` and return a
    :class:`~lmam.nn.fusion_module.FusionModule`.
    """
    return FUSIONS.register(name)


def list_fusions(pattern: str = "*") -> list[str]:
    """Sorted names of the registered fusions matching the glob ``pattern``."""
    return FUSIONS.names(pattern)


def fusion_factory(name: str) -> Callable[..., FusionModule]:
    """The registered class (or factory) of ``name``, e.g. to read its class attributes.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    return FUSIONS.get(name)


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
        OptionError: (a ``ValueError``) an unknown name or option, or a bad
            option value, naming the fusion, the option and what it takes.
    """
    module: FusionModule = FUSIONS.build(
        name, (in_dims, out_dim), options, reserved=("in_dims", "out_dim"), reword=True
    )
    return module
