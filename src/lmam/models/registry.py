"""The backbone registry: one spec per backbone, ``create_model(name, fusion=..., embed=..., ...)``.

A backbone is its encoder class (``Encoder(in_dim, **options)``, or
``Encoder(in_dims, **options)`` for a multimodal one) and a few facts about
it, registered once with :func:`register_backbone`. Everything else reads the
spec: :func:`create_model` builds the :class:`~lmam.models.erc_model.ERCModel`
around the encoder and checks the options against the encoder's own
``__init__``; ``lmam models`` lists the specs; the reproduction of the paper's
tables takes each backbone's label, width option and baseline from it.

Adding a backbone: write its encoder in a file of ``lmam/models/``, call
:func:`register_backbone` there, and import the file in
``lmam/models/__init__.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from lmam.models.erc_model import NO_FUSION, ERCModel
from lmam.nn.init import INITS, keras_init_
from lmam.nn.options import choice
from lmam.options import OptionError, accepted_options, check_against
from lmam.registry import Registry
from lmam.space import SearchSpace


@dataclass(frozen=True)
class Backbone:
    """A registered backbone.

    Attributes:
        name: its registry name (``"bclstm"``).
        encoder: the encoder class; its first parameter is the input width
            (``in_dims``, ``{modality: width}``, when ``multimodal``), its keyword
            parameters with their defaults are the backbone's options.
        label: its name in the paper's tables (``"bc-LSTM"``).
        description: one line for ``lmam models``.
        multimodal: the encoder takes the modalities apart, with its own fusion.
        own_fusion: its baseline is its own fusion alone (``fusion="none"`` by
            default); otherwise concatenation at the input.
        width_option: the option that widens it (Table V's diamond rows).
        width_step: the widths allowed are multiples of this.
        head_dropout: the model's ``dropout`` also applies before the classifier.
        takes_classes: the encoder is given ``num_classes`` too.
        space: the ranges ``lmam tune`` draws the encoder's options from
            (:mod:`lmam.space`; keys are option names).
        dropout_origin: where the encoder's default dropout comes from (the run's
            ``dropout`` is this default unless the user sets it).
    """

    name: str
    encoder: type[nn.Module]
    label: str
    description: str
    multimodal: bool = False
    own_fusion: bool = False
    width_option: str = ""
    width_step: int = 1
    head_dropout: bool = True
    takes_classes: bool = False
    space: SearchSpace = field(default_factory=dict)
    dropout_origin: str = ""

    def options(self) -> dict[str, Any]:
        """Every option ``create_model`` takes for this backbone: name -> annotation."""
        params, _ = accepted_options(_model_options)
        encoder, _ = accepted_options(self.encoder)
        skip = {next(iter(inspect.signature(self.encoder).parameters)), "num_classes"}
        return {**params, **{k: v for k, v in encoder.items() if k not in skip}}

    def default(self, option: str) -> Any:
        """The encoder's default value of ``option``."""
        return inspect.signature(self.encoder).parameters[option].default


MODELS: Registry[Backbone] = Registry("model")


def _model_options(
    *,
    fusion: str | None = None,
    embed: str = "early",
    fusion_dim: int | None = None,
    fusion_options: Mapping[str, object] | None = None,
    dropout: float | None = None,
    head_dropout: float | None = None,
    init: str = "torch",
) -> None:
    """The options every backbone takes (their meaning: :func:`create_model`)."""


def register_backbone(
    name: str,
    encoder: type[nn.Module],
    *,
    label: str,
    description: str,
    multimodal: bool = False,
    own_fusion: bool = False,
    width_option: str = "",
    width_step: int = 1,
    head_dropout: bool = True,
    takes_classes: bool = False,
    space: SearchSpace | None = None,
    dropout_origin: str = "",
) -> Backbone:
    """Register a backbone (see :class:`Backbone` for the arguments); returns its spec.

    Raises:
        ValueError: ``name`` is taken, or ``width_option`` or a key of ``space`` is not an
            option of the encoder.
    """
    spec = Backbone(
        name,
        encoder,
        label,
        description,
        multimodal,
        own_fusion,
        width_option,
        width_step,
        head_dropout,
        takes_classes,
        dict(space or {}),
        dropout_origin,
    )
    for option in [width_option, *spec.space] if width_option else list(spec.space):
        if option not in spec.options():
            raise ValueError(f"{name}: {option!r} is not an option of {encoder.__name__}")
    MODELS.register(name, description)(spec)
    return spec


def get_backbone(name: str) -> Backbone:
    """The spec of ``name`` (an ``OptionError`` naming the known ones if unknown)."""
    return MODELS.get(name)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered backbones matching the glob ``pattern``."""
    return MODELS.names(pattern)


def backbones() -> list[Backbone]:
    """Every registered backbone's spec, in the order they were registered (the
    paper's seven first, in the order of its tables)."""
    return [get_backbone(n) for n in MODELS.order()]


def create_model(
    name: str,
    *,
    in_dims: Mapping[str, int],
    num_classes: int,
    **options: Any,
) -> ERCModel:
    """Build the backbone ``name`` with any fusion at any embedding point.

    Args:
        name: a registered backbone (:func:`list_models`).
        in_dims: ``{modality: D_m}``, the input widths.
        num_classes: classes (or regression outputs).
        **options: the options every backbone takes: ``fusion`` (a registered
            fusion, or ``"none"``: the backbone's own fusion alone; default:
            ``"none"`` for a backbone with its own fusion, else ``"concat"``),
            ``embed``, ``fusion_dim``, ``fusion_options`` (see
            :class:`~lmam.models.erc_model.ERCModel`), ``dropout`` (the encoder's,
            default the encoder's own; also before the classifier where the
            backbone does so), ``head_dropout`` (before the classifier, if it
            should differ), ``init`` (``"torch"``, or ``"keras"``: every layer
            from Keras' defaults, as recipes published in Keras do); and the
            encoder's own options (its ``__init__``'s keyword parameters).

    Raises:
        OptionError: (a ``ValueError``) an unknown name or option, or a bad
            option value, naming the model, the option and what it takes.
    """
    spec = get_backbone(name)
    where = f"model {name!r}"
    check_against(where, spec.options(), False, options)
    common, _ = accepted_options(_model_options)
    settings = {k: options.pop(k) for k in list(options) if k in common}
    fusion = settings.get("fusion") or (NO_FUSION if spec.own_fusion else "concat")
    dropout = settings.get("dropout")
    takes_dropout = "dropout" in inspect.signature(spec.encoder).parameters
    if dropout is not None and takes_dropout:
        options["dropout"] = dropout
    elif dropout is None:
        dropout = spec.default("dropout") if takes_dropout else 0.0
    head = settings.get("head_dropout")
    if head is None:
        head = dropout if spec.head_dropout else 0.0
    if spec.takes_classes:
        options["num_classes"] = num_classes
    try:
        choice("init", settings.get("init", "torch"), INITS)
        model = ERCModel(
            lambda width: spec.encoder(width, **options),
            in_dims=in_dims,
            num_classes=num_classes,
            fusion=fusion,
            embed=settings.get("embed", "early"),
            fusion_dim=settings.get("fusion_dim"),
            fusion_options=settings.get("fusion_options"),
            dropout=head,
            multimodal=spec.multimodal,
        )
    except OptionError:
        raise
    except ValueError as e:
        raise OptionError(f"{where}: {e}") from None
    if settings.get("init") == "keras":
        keras_init_(model)
    return model
