"""The one error type for bad data: it names the file, the dialogue and the field."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad or unreadable data.

    The message reads ``<file>: dialogue <id>: field <name>: <problem>``,
    leaving out the parts that do not apply.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        dialogue: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.dialogue = dialogue
        self.field = field
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if dialogue is not None:
            parts.append(f"dialogue {dialogue!r}")
        if field is not None:
            parts.append(f"field {field!r}")
        super().__init__(": ".join([*parts, problem]))
