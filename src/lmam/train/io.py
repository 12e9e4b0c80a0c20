"""Moved to :mod:`lmam.outputs` (kept while its last importers move)."""

from lmam.outputs import atomic_write, atomic_write_json, atomic_write_text, json_safe

__all__ = ["atomic_write", "atomic_write_json", "atomic_write_text", "json_safe"]
