"""The errors lmam raises for what a user gave it (each a one-line message).

- :class:`OptionError`: a bad option, flag or config value (a usage error;
  the CLI exits with code 2).
- :class:`RunError`: a run directory that cannot be used as asked (the CLI
  exits with code 1).
- :class:`lmam.data.DataError`: bad or unreadable data (exit code 1).
"""

from __future__ import annotations


class OptionError(ValueError):
    """A bad option or option value; the message names it and what it takes."""


class RunError(RuntimeError):
    """A run directory that cannot be used as asked; the message says what to do."""


class LmamWarning(UserWarning):
    """A setting that works but is likely a mistake (the CLI prints one ``warning:`` line)."""
