"""A name -> factory registry, the one mechanism behind fusions, models and datasets."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
G = TypeVar("G", bound=Callable[..., Any])


class Registry(Generic[F]):
    """Factories by name, with a one-line description each.

    Args:
        kind: what is registered (``"fusion"``), used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., Any]] = {}
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

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching the glob ``pattern``."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def get(self, name: str) -> Callable[..., Any]:
        """The factory of ``name``.

        Raises:
            ValueError: for an unknown name, listing the known ones.
        """
        if name not in self._entries:
            raise ValueError(
                f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}"
            )
        return self._entries[name]

    def describe(self, name: str) -> str:
        """The one-line description of ``name``."""
        self.get(name)
        return self._descriptions[name]
