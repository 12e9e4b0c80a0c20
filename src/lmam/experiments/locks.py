"""A lock file beside a run (or any file), so that processes sharing a folder take turns."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console


@contextmanager
def run_lock(run: Path, console: Console | None = None, poll: float = 2.0) -> Iterator[None]:
    """Hold ``.<run name>.lock`` beside ``run`` while training it.

    Grids running at the same time over the same folder (two tables that
    share runs) then never train one run twice or write into each other's
    run: the second waits until the first releases the lock. The lock names
    the holder's process and host; one left by a process of this host that
    no longer runs is removed.
    """
    lock = run.parent / f".{run.name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    told = False
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _stale(lock):
                lock.unlink(missing_ok=True)
                continue
            if console is not None and not told:
                console.print(f"waiting for {run.name}: another process is training it ({lock})")
                told = True
            time.sleep(poll)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} {socket.gethostname()}\n")
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _stale(lock: Path) -> bool:
    """Whether ``lock`` was left by a process of this host that has ended."""
    try:
        pid, host = lock.read_text().split()
        if host != socket.gethostname():
            return False
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):  # being written, unreadable, or not ours to signal
        return False
    return False
