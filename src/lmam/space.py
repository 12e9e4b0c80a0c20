"""Search spaces: the ranges ``lmam tune`` draws settings from.

A search space maps a setting to a dimension: :class:`Float`, :class:`Int` or
:class:`Choice`. Each backbone declares the space of its own options beside its
encoder (``register_backbone(..., space=...)``), each fusion on its class
(``space`` attribute); ``lmam tune`` adds the training settings and prefixes
each option with where it goes (``model_options.hidden``,
``fusion_options.rank``). A YAML file overrides any of it with plain data
(:func:`parse_dimension`)::

    lr: {float: [1.0e-4, 3.0e-3], log: true}
    model_options.hidden: {int: [50, 300], step: 50}
    fusion_options.query: {choice: [lowrank, full]}
    dropout: 0.3                 # fixed, not searched
    weight_decay: null           # left out: the config's value is used

This module is plain Python (no torch, no Optuna): the core declares spaces
without depending on the tuner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lmam.errors import OptionError


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]`` (``log``: drawn on a log scale)."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise OptionError(
                f"a float range needs finite low < high, got [{self.low}, {self.high}]"
            )
        if self.log and self.low <= 0:
            raise OptionError(f"a log-scale range needs low > 0, got {self.low}")


@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]``, in steps of ``step`` from ``low``."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or self.step < 1:
            raise OptionError(
                f"an int range needs low < high and step >= 1, got "
                f"[{self.low}, {self.high}] step {self.step}"
            )
        if self.log and (self.low <= 0 or self.step != 1):
            raise OptionError("a log-scale int range needs low > 0 and step 1")


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (strings, numbers, booleans or ``None``)."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.values) < 1:
            raise OptionError("a choice needs at least one value")
        for v in self.values:
            if v is not None and not isinstance(v, (str, int, float, bool)):
                raise OptionError(f"a choice's values must be plain scalars, got {v!r}")


@dataclass(frozen=True)
class Fixed:
    """Not searched: always ``value`` (a YAML override that pins a setting)."""

    value: Any


Dimension = Float | Int | Choice | Fixed
SearchSpace = Mapping[str, Dimension]

KINDS = ("float", "int", "choice")


def parse_dimension(key: str, value: Any, where: str = "") -> Dimension | None:
    """A dimension from its YAML form (see the module docstring).

    Returns:
        ``None`` for ``null`` (leave the setting out of the space).

    Raises:
        OptionError: a malformed entry, naming the file (``where``) and the key.
    """
    at = f"{where}: {key}" if where else key
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return Fixed(value)
    kinds = [k for k in KINDS if k in value]
    extra = [k for k in value if k not in (*KINDS, "log", "step")]
    if len(kinds) != 1 or extra:
        raise OptionError(
            f"{at}: a search dimension is a value, null, or a mapping with one of "
            f"{', '.join(KINDS)} (and log / step), got {dict(value)}"
        )
    kind = kinds[0]
    body = value[kind]
    try:
        if kind == "choice":
            if not isinstance(body, list) or not body:
                raise OptionError("choice takes a non-empty list of values")
            return Choice(tuple(body))
        if not isinstance(body, list) or len(body) != 2:
            raise OptionError(f"{kind} takes [low, high]")
        log = bool(value.get("log", False))
        if kind == "float":
            return Float(float(body[0]), float(body[1]), log)
        low, high = body
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (low, high)):
            raise OptionError(f"int takes integer bounds, got {body}")
        return Int(low, high, int(value.get("step", 1)), log)
    except OptionError as e:
        raise OptionError(f"{at}: {e}") from None
    except (TypeError, ValueError) as e:
        raise OptionError(f"{at}: {e}") from None


def dimension_yaml(dim: Dimension) -> Any:
    """The YAML form of ``dim`` that :func:`parse_dimension` reads back."""
    if isinstance(dim, Float):
        return {"float": [dim.low, dim.high], "log": dim.log}
    if isinstance(dim, Int):
        return {"int": [dim.low, dim.high], "step": dim.step, "log": dim.log}
    if isinstance(dim, Choice):
        return {"choice": list(dim.values)}
    return dim.value


def describe(dim: Dimension) -> str:
    """One line for a table: ``float [1e-4, 3e-3] log``."""
    if isinstance(dim, Float):
        return f"float [{dim.low:g}, {dim.high:g}]" + (" log" if dim.log else "")
    if isinstance(dim, Int):
        step = f" step {dim.step}" if dim.step != 1 else ""
        return f"int [{dim.low}, {dim.high}]{step}" + (" log" if dim.log else "")
    if isinstance(dim, Choice):
        return "choice " + ", ".join(str(v) for v in dim.values)
    return f"fixed {dim.value!r}"
