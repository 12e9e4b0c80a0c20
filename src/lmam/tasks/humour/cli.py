"""``lmam humour ...`` (placeholder, filled below)."""

import typer

from lmam.cli_errors import ClearErrors

humour_app = typer.Typer(cls=ClearErrors, rich_markup_mode=None, no_args_is_help=True)
