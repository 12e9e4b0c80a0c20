"""Read the pickles of the ERC literature without running code from them.

A pickle can name any importable callable and have it called while loading
(``os.system``, ``subprocess.Popen``, ...). :func:`safe_load` resolves only an
allow-list of globals: builtin containers, numbers and strings, the numpy
functions that rebuild arrays, dtypes and scalars (under both the numpy 1
``numpy.core`` and numpy 2 ``numpy._core`` module names), and
``collections.OrderedDict`` / ``defaultdict``. Anything else is refused with a
:class:`~lmam.data.errors.DataError` naming the file and the global, before
anything is called.
"""

from __future__ import annotations

import _codecs
import collections
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from lmam.data.errors import DataError
from lmam.data.sniff import HDF5_MAGIC, ZIP_MAGIC, describe_file, head, is_pickle_start

_BUILTINS = {
    "dict": dict,
    "list": list,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "int": int,
    "float": float,
    "complex": complex,
    "bool": bool,
    "str": str,
    "bytes": bytes,
    "bytearray": bytearray,
    "slice": slice,
    "range": range,
}
# Python 2 pickles name these modules differently; the Unpickler's own
# renaming is bypassed once find_class is overridden.
_BUILTIN_MODULES = ("builtins", "__builtin__")
_NUMPY_PREFIXES = ("numpy.core.", "numpy._core.")


def _numpy_globals() -> dict[tuple[str, str], Any]:
    core = np._core if hasattr(np, "_core") else np.core  # numpy 2 renamed numpy.core
    found: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for module, name in [
        ("multiarray", "_reconstruct"),
        ("multiarray", "scalar"),
        ("numeric", "_frombuffer"),
    ]:
        function = getattr(getattr(core, module), name)
        for prefix in _NUMPY_PREFIXES:
            found[(prefix + module, name)] = function
    return found


_ALLOWED: dict[tuple[str, str], Any] = {
    **{(m, n): f for m in _BUILTIN_MODULES for n, f in _BUILTINS.items()},
    **_numpy_globals(),
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "defaultdict"): collections.defaultdict,
    # Python 3 pickles of bytes at protocol < 3 rebuild them with _codecs.encode.
    ("_codecs", "encode"): _codecs.encode,
}


# What a corrupt or truncated pickle raises while loading.
_UNREADABLE = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    OverflowError,
    MemoryError,
    RecursionError,
)


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside the allow-list."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.global_name = f"{module}.{name}"


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None


def safe_load(path: str | Path, *, encoding: str = "latin1") -> object:
    """Unpickle ``path`` allowing only plain data and numpy arrays.

    Args:
        path: the pickle file.
        encoding: how to decode Python 2 ``str`` objects; ``"latin1"`` (the
            default) is what the published Python 2 feature pickles need.

    Raises:
        DataError: the file is missing or is not a readable pickle, or it
            refers to a global outside the allow-list (nothing is called then).
    """
    path = Path(path)
    try:
        raw = head(path) if path.is_file() else b"\x80"
        if not is_pickle_start(raw) and (not raw or raw.startswith((ZIP_MAGIC, HDF5_MAGIC))):
            raise DataError(describe_file(path), file=path)  # surely not a pickle
        with path.open("rb") as f:
            return _RestrictedUnpickler(f, encoding=encoding).load()
    except RefusedGlobal as e:
        raise DataError(
            f"refused to load: the pickle refers to {e.global_name}, which could run "
            "arbitrary code; only builtin containers, numbers, strings and numpy "
            "arrays are allowed",
            file=path,
        ) from None
    except FileNotFoundError:
        raise DataError("no such file", file=path) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a pickle file", file=path) from None
    except _UNREADABLE as e:
        raise DataError(describe_file(path, e), file=path) from None
