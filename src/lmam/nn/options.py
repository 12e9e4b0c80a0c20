"""Validation of module options: a clear ``ValueError`` naming the option."""

from __future__ import annotations


def positive_int(name: str, value: object) -> int:
    """``value`` if it is a positive int, else a ``ValueError`` naming the option."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a ``ValueError`` naming the option."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value
