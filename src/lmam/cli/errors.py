"""How every ``lmam`` command ends on an error the user can act on: one line, an exit code.

Exit codes: 0 success; 1 bad data, a missing file, a run directory that cannot
be used as asked, a missing optional package; 2 a bad command line, option or
config value; 130 interrupted. ``LMAM_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from lmam.errors import LmamWarning, OptionError, RunError
from lmam.options import plural

__all__ = [
    "ClearErrors",
    "command_group",
    "exit_code",
    "log_console",
    "out_console",
    "plural",
    "print_error",
    "show_rows",
]

JSON_HELP = "print the result as JSON on standard output (instead of a table)"
MKDIR_HELP = "create missing output folders outside the working directory too"


def command_group(help: str) -> typer.Typer:
    """A group of commands (``lmam data ...``) that ends a user's error with one line."""
    return typer.Typer(
        cls=ClearErrors,
        rich_markup_mode=None,
        help=help,
        no_args_is_help=True,
        add_completion=False,
    )


def out_console() -> Console:
    """Standard output, for results (tables, JSON): no emoji codes, no highlighting."""
    return Console(emoji=False, highlight=False)


def log_console() -> Console:
    """Standard error, for progress, logs and warnings: one line however long."""
    return Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)


def show_rows(title: str, rows: list[dict[str, Any]], as_json: bool = False) -> None:
    """Results on standard output: a table with one column per key (integers with
    thousands separators, right-aligned), or with ``as_json`` the rows as JSON."""
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    table = Table(title=escape(title))
    keys = list(rows[0]) if rows else []
    for key in keys:
        number = isinstance(rows[0][key], (int, float)) and not isinstance(rows[0][key], bool)
        table.add_column(key.replace("_", " "), justify="right" if number else "left")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else escape(str(v)) for v in row.values()))
    out_console().print(table)


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    log_console().print(f"[yellow]warning:[/yellow] {escape(' '.join(str(message).split()))}")


def exit_code(err: BaseException) -> int | None:
    """The exit code of an error the user can act on (``None``: a bug, show the traceback)."""
    from lmam.data.errors import DataError  # (here: importing lmam.data loads torch)

    if isinstance(err, OptionError):
        return 2
    if isinstance(err, (DataError, RunError, ImportError, OSError, ValueError)):
        return 1
    return None


def print_error(message: str) -> None:
    """``error: <message>`` on one line of standard error."""
    log_console().print(f"[red]error:[/red] {escape(' '.join(message.split()))}")


class ClearErrors(TyperGroup):
    """A command group whose commands end on a user's error with one line and its code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", LmamWarning)
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except typer.Exit:
            raise
        except BrokenPipeError:  # the reader went away (lmam ... | head): stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            raise typer.Exit(141) from None
        except Exception as err:
            code = exit_code(err)
            if code is None or os.environ.get("LMAM_DEBUG"):
                raise
            message = str(err) or type(err).__name__
            if isinstance(err, ImportError):
                message += " (an optional dependency: see the extras in docs/install.md)"
            for line in getattr(err, "lines", None) or [message]:
                print_error(line)
            raise typer.Exit(code) from None
