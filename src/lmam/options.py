"""Options given by a user: parsing, and checking against what a factory accepts.

One layer between the user (CLI flags, config files, ``create_*`` keyword
options) and the code. A factory's options are read from its signature and
type annotations; for a class whose ``__init__`` takes ``**options``, the walk
follows the class it hands them to: the next ``__init__`` in its MRO, or the
class named by its ``forwards_options_to`` attribute. So an unknown option or a
value of the wrong type is refused before anything is built, with a message
that names the option, the valid ones and the closest match.
"""

from __future__ import annotations

import difflib
import inspect
import re
import types
import typing
from collections import abc
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from lmam.errors import OptionError


# -- parsing -------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, but ``1e-3`` and ``5e2`` are numbers (as in YAML 1.2)."""


_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def load_yaml(text: str) -> Any:
    """Parse YAML text, reading scientific notation (``1e-3``) as a number."""
    return yaml.load(text, Loader=_Loader)


def parse_value(text: str) -> Any:
    """A command-line option value: ``45`` -> int, ``1e-3`` -> float, ``true``,
    ``null``, ``[a, b]``; anything else stays a string."""
    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


def parse_pairs(items: list[str], flag: str) -> dict[str, Any]:
    """``["rank=45", "query=full"]`` -> ``{"rank": 45, "query": "full"}``.

    Raises:
        OptionError: an item without ``=`` or with an empty key, naming ``flag``.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise OptionError(f"{flag} {item!r}: expected KEY=VALUE, e.g. {flag} rank=45")
        out[key.strip()] = parse_value(value)
    return out


# -- checking ------------------------------------------------------------------------
def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve: check names only
        return {}


def _read(fn: Callable[..., Any], skip: int, out: dict[str, Any]) -> bool:
    """Add ``fn``'s keyword parameters (name -> annotation, ``None`` if unknown) to
    ``out``; returns whether it takes ``**kwargs``."""
    hints = _hints(fn)
    params = list(inspect.signature(fn).parameters.values())[skip:]
    open_ = False
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            open_ = True
        elif p.kind is not p.VAR_POSITIONAL and p.name not in out:
            out[p.name] = hints.get(p.name)
    return open_


def accepted_options(factory: Callable[..., Any]) -> tuple[dict[str, Any], bool]:
    """The keyword options ``factory`` accepts (name -> annotation, ``None`` if
    unknown), and whether it also takes any other.

    For a class, ``__init__`` is read, then (while it takes ``**options``) the
    ``__init__`` it hands them to.
    """
    out: dict[str, Any] = {}
    if not isinstance(factory, type):
        return out, _read(factory, 0, out)
    return out, _read_class(factory, out)


def _read_class(cls: type, out: dict[str, Any]) -> bool:
    """Follow ``**options`` from ``cls.__init__`` down its MRO (or to the class
    named by ``forwards_options_to``); returns whether unknown options pass."""
    open_ = False
    for owner in cls.__mro__:
        if owner is object:
            break
        if "__init__" not in owner.__dict__:
            continue
        open_ = _read(owner.__dict__["__init__"], 1, out)
        if not open_:
            return False
        target = owner.__dict__.get("forwards_options_to")
        if isinstance(target, type):
            return _read_class(target, out)
    return open_


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return getattr(annotation, "__name__", str(annotation))


def _fits(value: Any, annotation: Any) -> bool:
    if annotation is None or annotation is Any or annotation is object:
        return True
    if annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin is not None:
        annotation = origin
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is Path:
        return isinstance(value, (str, Path))
    if annotation in (abc.Sequence, list, tuple):
        return isinstance(value, (list, tuple))
    try:
        return isinstance(value, annotation)
    except TypeError:
        return True


def check_value(where: str, name: str, value: Any, annotation: Any) -> None:
    """Raise :class:`OptionError` unless ``value`` fits ``annotation``.

    ``where`` (e.g. ``"fusion 'lmam'"``) starts the message when given.
    """
    if not _fits(value, annotation):
        prefix = f"{where} option " if where else ""
        raise OptionError(
            f"{prefix}{name}={value!r}: expected {_type_name(annotation)}, "
            f"got {type(value).__name__}"
        )


def closest(name: str, known: list[str]) -> str:
    """`` (did you mean 'rank'?)`` for the closest of ``known``, else ``""``."""
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def check_options(
    where: str,
    factory: Callable[..., Any],
    options: Mapping[str, Any],
    reserved: tuple[str, ...] = (),
) -> None:
    """Check ``options`` against what ``factory`` accepts.

    Args:
        where: what is being built, for the message (``"fusion 'lmam'"``).
        factory: the class or function the options go to.
        options: the keyword options.
        reserved: accepted names that are not options (e.g. ``in_dims``).

    Raises:
        OptionError: an unknown option (naming the valid ones and the closest)
            or a value of the wrong type (naming the option, the value and
            what is expected).
    """
    params, open_ = accepted_options(factory)
    check_against(where, params, open_, options, reserved)


def check_against(
    where: str,
    params: Mapping[str, Any],
    open_: bool,
    options: Mapping[str, Any],
    reserved: tuple[str, ...] = (),
) -> None:
    """Check ``options`` against ``params`` (name -> annotation, as
    :func:`accepted_options` gives them; ``open_``: other names pass too).

    Raises:
        OptionError: as :func:`check_options`.
    """
    valid = [n for n in params if n not in reserved]
    for name, value in options.items():
        if name not in params:
            if open_:
                continue
            listed = ", ".join(valid) if valid else "none"
            raise OptionError(
                f"{where} has no option {name!r}{closest(name, valid)}; its options: {listed}"
            )
        check_value(where, name, value, params[name])


def plural(count: int, word: str, many: str | None = None) -> str:
    """``"1 epoch"``, ``"2 epochs"`` (``many``: an irregular plural)."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"
