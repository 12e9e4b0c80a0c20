"""The allocator setting that ``lmam serve`` makes at start (sessions' limits and expiry
are tested through the app, in test_app.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_steady_allocator_is_taken_by_glibc() -> None:
    code = (
        "from lmam.tasks.serve.sessions import steady_allocator, release_memory\n"
        "assert steady_allocator() is True\n"
        "release_memory()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # its own process: it is global
