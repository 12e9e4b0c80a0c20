"""A reproduced table as Markdown and JSON (and the figures beside them)."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import lmam
from lmam.experiments.reproduce.formatting import markdown_table
from lmam.experiments.stats import json_safe
from lmam.outputs import atomic_write_json, atomic_write_text


@dataclass
class Report:
    """One table for one dataset.

    Args:
        name: the command's table name (``table2`` ...).
        dataset: the dataset's folder name.
        title: the heading.
        header: the column names of the Markdown table.
        rows: its rows (strings, one per column).
        notes: paragraphs under the table (protocol, how it departs from the paper).
        payload: everything else the JSON keeps (every run's metrics, the tests).
        figures: the PNGs written beside it.
    """

    name: str
    dataset: str
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", *markdown_table(self.header, self.rows), ""]
        for note in self.notes:
            lines += [note, ""]
        for fig in self.figures:
            lines += [f"![{fig.stem}]({fig.name})", ""]
        return "\n".join(lines)

    def write(self, out_dir: Path) -> Path:
        """Write ``<out_dir>/<name>.md`` and ``<name>.json``; returns the Markdown's path."""
        out_dir.mkdir(parents=True, exist_ok=True)
        md = out_dir / f"{self.name}.md"
        atomic_write_text(md, self.markdown())
        atomic_write_json(
            out_dir / f"{self.name}.json",
            json_safe(
                {
                    "table": self.name,
                    "dataset": self.dataset,
                    "title": self.title,
                    "header": self.header,
                    "rows": self.rows,
                    "notes": self.notes,
                    "figures": [f.name for f in self.figures],
                    "environment": environment(),
                    **self.payload,
                }
            ),
        )
        return md


def environment() -> dict[str, Any]:
    """What the numbers were measured with."""
    return {
        "lmam": lmam.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


INDEX_HEADER = """# Results: the LMAM paper's tables reproduced with lmam

Each section below was written by `lmam reproduce TABLE` (the command is given in
each section) and sits in `TABLE/DATASET/` with its JSON (every run's metrics, the
seeds, the environment) and figures. Rows marked "paper" are the paper's numbers.

How our data differ from the paper's, so the numbers are not expected to match:
- **IEMOCAP and MELD are text only here** (`iemocap-text`, `meld-text`: sentence
  embeddings of the transcripts); the paper's are trimodal. With the classic
  trimodal pickles the same commands run unchanged (`--dataset FILE`).
- **CMU-MOSI is the bc-LSTM 62/31-video split** (utterance-level bc-LSTM features),
  not the standard 52/10/31 one, trained as regression on the continuous labels.
- **POM** has audio and visual only (the MFN files carry no text).
- Model selection never looks at the test set: the epoch kept is the best on
  validation data, or (CMU-MOSI) a fixed number of epochs decided in advance.
- **The other tasks** (`lmam session table13`, `lmam humour table14 DIR`):
  Diginetica's table is on a seeded subsample of the training cases unless its
  section says otherwise; UR-FUNNY's features are not available here, so Table
  XIV has no measured result.
"""


OTHER_TASK_TABLES = ("table13", "table14")
"""Tables of the other tasks, written by their own commands; the results page shows them last."""


NOTES = "notes.md"
"""The page's hand-written part, ``out/notes.md`` (what the tables say, what changed):
:func:`write_index` puts it after the header and never writes it."""


def write_index(out: Path, order: list[str]) -> Path:
    """``out/README.md``: the notes (:data:`NOTES`, if any), the summary
    (:mod:`.glance`), then every table found under ``out`` (in ``order``, then the other
    tasks'), one section each. A table whose Markdown names its own ``Command:`` (the
    other tasks') keeps it; the others get their ``lmam reproduce`` command."""
    from lmam.experiments.reproduce.summary import glance

    notes = out / NOTES
    parts = [INDEX_HEADER, *([notes.read_text(encoding="utf-8")] if notes.is_file() else [])]
    parts += glance(out)
    for name in [*order, *OTHER_TASK_TABLES]:
        folder = out / name
        if not folder.is_dir():
            continue
        for md in sorted(folder.glob(f"*/{name}.md")):
            text = md.read_text(encoding="utf-8")
            rel = md.parent.relative_to(out).as_posix()
            text = text.replace("](", f"]({rel}/").replace("\n## ", "\n### ")
            text = text.replace("## ", "### ", 1) if text.startswith("## ") else text
            if "Command: `" not in text:
                text += f"\nMade by `lmam reproduce {name} --dataset {md.parent.name}`.\n"
            parts.append(text)
    path = out / "README.md"
    atomic_write_text(path, "\n".join(parts))
    return path
