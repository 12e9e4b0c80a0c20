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
(:func:`atomic_write`, below).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` onto ``path``.

    The file gets the mode a plain ``open(path, "w")`` would give it (``0o666``
    less the umask), not the ``0o600`` of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write(text)

    atomic_write(path, write)


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


def json_safe(value: Any) -> Any:
    """``value`` with every nan or infinite float replaced by ``None`` (nested dicts,
    lists and tuples too), so that ``json.dumps`` writes standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
