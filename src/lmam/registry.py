"""A name -> factory registry, the one mechanism behind fusions, models and datasets."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from lmam.options import OptionError, check_options, closest

F = TypeVar("F")
G = TypeVar("G")


class Registry(Generic[F]):
    """Factories by name, with a one-line description each.

    Args:
        kind: what is registered (``"fusion"``), used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._descriptions: dict[str, str] = {}

    def register(self, name: str, description: str = "") -> Callable[[G], G]:
        """Decorator adding ``factory`` under ``name`` (description: given, else its
        docstring's first line)."""

        def add(factory: G) -> G:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = factory
            self._descriptions[name] = description or (factory.__doc__ or "").strip().split("\n")[0]
            return factory

        return add

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a plug-in unloading itself; a test's entry)."""
        self.get(name)
        del self._entries[name], self._descriptions[name]

    def order(self) -> list[str]:
        """Every name, in the order of registration."""
        return list(self._entries)

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching the glob ``pattern``."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def get(self, name: str) -> F:
        """The factory of ``name``.

        Raises:
            OptionError: for an unknown name, listing the known ones (and the closest).
        """
        if name not in self._entries:
            raise OptionError(
                f"unknown {self.kind} {name!r}{closest(name, self.names())}; "
                f"known {self.kind}s: {', '.join(self.names())}"
            )
        entry: F = self._entries[name]
        return entry

    def build(
        self,
        name: str,
        args: tuple[Any, ...],
        options: Mapping[str, Any],
        reserved: tuple[str, ...] = (),
        reword: bool = False,
    ) -> Any:
        """Call the factory of ``name`` with ``args`` and ``options``, checked first.

        Args:
            args: positional arguments (not checked).
            options: keyword options, checked against the factory's signature.
            reserved: parameters that are arguments, not options (left out of
                the list of valid options in messages).
            reword: re-raise a ``ValueError`` of the factory (a bad option
                value it refused) as an :class:`~lmam.options.OptionError`
                naming the entry.

        Raises:
            OptionError: an unknown name (listing the known ones), an unknown
                option (listing the valid ones and the closest) or a value of
                the wrong type.
        """
        factory: Callable[..., Any] = self.get(name)  # type: ignore[assignment]
        where = f"{self.kind} {name!r}"
        check_options(where, factory, options, reserved)
        if not reword:
            return factory(*args, **options)
        try:
            return factory(*args, **options)
        except OptionError:
            raise
        except ValueError as e:
            raise OptionError(f"{where}: {e}") from None

    def describe(self, name: str) -> str:
        """The one-line description of ``name``."""
        self.get(name)
        return self._descriptions[name]
