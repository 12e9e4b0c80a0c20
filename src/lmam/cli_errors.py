"""How every ``lmam`` command ends on an error the user can act on: one line, an exit code.

Exit codes: 0 success; 1 bad data, a missing file, a run directory that cannot
be used as asked, a missing optional package; 2 a bad command line, option or
config value; 130 interrupted. ``LMAM_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from lmam.data.errors import DataError
from lmam.errors import OptionError, RunError


def exit_code(err: BaseException) -> int | None:
    """The exit code of an error the user can act on (``None``: a bug, show the traceback)."""
    if isinstance(err, OptionError):
        return 2
    if isinstance(err, (DataError, RunError, ImportError, OSError, ValueError)):
        return 1
    return None


def print_error(message: str) -> None:
    """``error: <message>`` on one line of standard error."""
    Console(stderr=True, soft_wrap=True, highlight=False).print(
        f"[red]error:[/red] {escape(' '.join(message.split()))}"
    )


class ClearErrors(TyperGroup):
    """A command group whose commands end on a user's error with one line and its code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.Exit:
            raise
        except Exception as err:
            code = exit_code(err)
            if code is None or os.environ.get("LMAM_DEBUG"):
                raise
            message = str(err) or type(err).__name__
            if isinstance(err, ImportError):
                message += " (an optional dependency: see the README's install extras)"
            for line in getattr(err, "lines", None) or [message]:
                print_error(line)
            raise typer.Exit(code) from None
