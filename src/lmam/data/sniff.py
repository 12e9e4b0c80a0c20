"""Say what a file is when it is not what a reader expected.

A reader that fails on a file asks :func:`describe_file` for the reason in
words: an empty file, a damaged zip, an ``.npz`` holding pickled objects, an
HDF5 file, a text (CSV) file, a truncated pickle. Nothing here unpickles.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import numpy as np

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def head(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as f:
        return f.read(size)


def is_pickle_start(raw: bytes) -> bool:
    """Protocol 2+ pickles start with the PROTO opcode (0x80)."""
    return raw[:1] == b"\x80"


def as_text(raw: bytes) -> str | None:
    """The start of the file as text, or ``None`` if it is binary."""
    for bom, codec in zip(BOMS, ("utf-8-sig", "utf-16", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(codec, errors="replace")
    if b"\x00" in raw:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start >= len(raw) - 3:  # a character cut by the 4 KiB window
            return raw[: e.start].decode("utf-8")
        return None


def describe_npz(path: Path) -> str:
    """What is wrong with a zip / ``.npz`` file that is not an lmam dataset file."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            arrays = [n for n in names if n.endswith(".npy")]
            if not arrays:
                return f"a zip archive of {len(names)} file(s) but no NumPy arrays: not an .npz"
            for name in arrays:
                with z.open(name) as f:
                    version = np.lib.format.read_magic(f)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    dtype = read_header(f)[2]
                if dtype.hasobject:
                    return (
                        f"an .npz whose entry {name[:-4]!r} holds pickled Python objects, which "
                        "lmam never unpickles; save plain numeric arrays, or write the data "
                        "with `lmam data export`"
                    )
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        return (
            f"a damaged or truncated zip/.npz file ({type(e).__name__}: {e}); "
            "copy or export it again"
        )
    return (
        f"a NumPy .npz ({', '.join(a[:-4] for a in arrays[:5])}"
        f"{', ...' if len(arrays) > 5 else ''}) but not an lmam dataset file (it has no lmam "
        "metadata); write one with `lmam data export` (format in docs/data.md)"
    )


def describe_file(path: Path, error: BaseException | None = None) -> str:
    """Why ``path`` is not a readable pickle, in words (``error``: what unpickling raised)."""
    raw = head(path)
    if not raw:
        return "an empty file (0 bytes)"
    if raw.startswith(ZIP_MAGIC) or path.suffix == ".npz":
        return describe_npz(path)
    if raw.startswith(HDF5_MAGIC):
        return (
            "an HDF5 file, not a pickle: the MFN HDF5 datasets are read by name "
            "(e.g. lmam data info pom --path DIRECTORY)"
        )
    reason = f" ({type(error).__name__}: {error})" if error is not None else ""
    if is_pickle_start(raw):
        return f"not a readable pickle: truncated or damaged{reason}"
    text = as_text(raw)
    if text is not None:
        first = text.strip().splitlines()[0][:60] if text.strip() else ""
        kind = "a CSV text file" if "," in first or "\t" in first else "a text file"
        return f"not a pickle but {kind} (it begins {first!r})"
    return f"not a readable pickle: an unrecognised binary file{reason}"
