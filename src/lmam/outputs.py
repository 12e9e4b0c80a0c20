"""Where a command may write: never onto one of its inputs, never into a folder out of reach.

Every command that writes a file checks the path first, before any work:

- an output that is (or resolves to, through links) one of the command's
  inputs is refused, and so is an existing file inside an input folder (a
  run's own checkpoint or records), so that no command destroys what it reads;
- an output that is a folder is refused;
- missing parent folders are created only under the working directory, or
  anywhere when the user asked for it (``--mkdir``); otherwise "no such folder".
  An output folder (``--out-dir``) is itself an output: it is created when the
  folder that holds it exists.

The writes themselves go to a temporary file that is renamed only on success
(:mod:`lmam.train.io`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from lmam.errors import OptionError


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    return folder.is_dir() and folder.resolve() in path.resolve().parents


def check_output(
    path: str | Path,
    option: str,
    inputs: Iterable[str | Path | None] = (),
    mkdir: bool = False,
) -> Path:
    """``path`` checked as an output of a command (see the module doc).

    Args:
        path: the file the command will write.
        option: the option or argument that gave it, for the message (``--out``).
        inputs: the files and folders the command reads (``None`` entries are ignored).
        mkdir: create missing parent folders anywhere (the user's ``--mkdir``).

    Raises:
        OptionError: naming the option, the path and what to do instead.
    """
    out = Path(path)
    for given in inputs:
        if given is None or str(given) == "":
            continue
        source = Path(given)
        if _same(out, source):
            raise OptionError(
                f"{option} {out} is the input {source}: lmam never writes over what it reads; "
                "give another path"
            )
        if out.exists() and _inside(out, source):
            raise OptionError(
                f"{option} {out} is a file of the input {source}: lmam never writes over what "
                "it reads; give another path"
            )
    if out.is_dir():
        raise OptionError(f"{option} {out} is a folder; give the path of the file to write")
    check_folder(out.parent, option, mkdir)
    return out


def check_out_dir(folder: str | Path, option: str, mkdir: bool = False) -> Path:
    """``folder`` as an output folder: it exists, or the folder holding it may be written into."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OptionError(f"{option}: {folder} is a file, not a folder")
    check_folder(folder.parent, option, mkdir)
    return folder


def check_folder(folder: str | Path, option: str, mkdir: bool = False) -> Path:
    """``folder`` as a place to write into: it exists, or it may be created (see the module doc).

    Raises:
        OptionError: a missing folder outside the working directory without ``mkdir``,
            or a path that is a file.
    """
    folder = Path(folder)
    if folder.is_dir() or mkdir:
        return folder
    if folder.exists():
        raise OptionError(f"{option}: {folder} is a file, not a folder")
    here = Path.cwd().resolve()
    target = folder.resolve()
    if target != here and here not in target.parents:
        raise OptionError(
            f"{option}: no such folder {folder}; lmam creates folders only under the working "
            "directory (give --mkdir to create it)"
        )
    return folder
