"""``lmam data``: list, inspect and export datasets.

Mounted by the main command line as ``lmam data``; ``data_app`` is a plain
Typer app and can be run on its own.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from lmam.cli.errors import JSON_HELP, MKDIR_HELP, command_group, log_console, out_console, plural
from lmam.data.conversation_files import ConversationFile, is_conversation_file, read_conversations
from lmam.data.dataset import ConversationDataset
from lmam.data.detect import open_dataset
from lmam.data.registry import describe_dataset, list_datasets
from lmam.features import datasets as _text_datasets  # noqa: F401  (registers the *-text datasets)
from lmam.options import parse_pairs

data_app = command_group(
    "List, inspect and export datasets (registered names, or files in any known layout)."
)

NAME_OR_PATH = typer.Argument(..., help="a registered dataset name (lmam data list) or a path")
PATH = typer.Option(
    None, "--data-path", "--path", help="the file or directory a registered dataset reads"
)
OPTION = typer.Option(
    [],
    "--option",
    "-o",
    help="KEY=VALUE reader option, repeatable: labels=sentiment, text=concat, seed=1, ...",
)


@data_app.command("list")
def list_command() -> None:
    """The registered datasets and what each one reads."""
    table = Table(title="registered datasets")
    table.add_column("name", style="bold")
    table.add_column("description")
    for name in list_datasets():
        table.add_row(name, escape(describe_dataset(name)))
    out_console().print(table)


@data_app.command("layouts")
def layouts_command() -> None:
    """The file layouts lmam reads (the public ERC feature pickles and its own formats)."""
    from lmam.data.erc_layouts import known_layouts

    table = Table(title="layouts lmam reads (lmam data info FILE detects which)")
    table.add_column("#", justify="right")
    table.add_column("layout")
    for i, text in enumerate(known_layouts(), 1):
        table.add_row(str(i), escape(text))
    out_console().print(table)


@data_app.command("info")
def info_command(
    name_or_path: str = NAME_OR_PATH,
    path: Path | None = PATH,
    option: list[str] = OPTION,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Splits, counts, label distribution, modality widths, provenance and warning.

    A conversation file (``.csv`` / ``.jsonl``, see docs/raw-conversations.md) is checked and
    summarised: dialogues, utterances, speakers, labels, optional columns.
    """
    console = out_console()
    if path is None and not option and is_conversation_file(name_or_path):
        conv = read_conversations(name_or_path)
        if as_json:
            print(json.dumps(conversation_info(conv), indent=1))
            return
        for table in conversation_tables(conv):
            console.print(table)
        return
    ds = _open(name_or_path, path, option)
    if as_json:
        print(json.dumps(dataset_info(ds), indent=1))
        return
    for table in info_tables(ds):
        console.print(table)
    if ds.warning:
        console.print(f"[bold yellow]warning:[/] {escape(ds.warning)}")


@data_app.command("export")
def export_command(
    name_or_path: str = NAME_OR_PATH,
    out: Path = typer.Argument(..., help="the lmam dataset file to write (.npz)"),
    path: Path | None = PATH,
    option: list[str] = OPTION,
    mkdir: bool = typer.Option(False, help=MKDIR_HELP),
) -> None:
    """Write a dataset in lmam's own format (read back with `lmam data info OUT`)."""
    from lmam.data.lmam_format import save_dataset
    from lmam.outputs import check_output

    check_output(out, "OUT", [name_or_path, path], mkdir)
    ds = _open(name_or_path, path, option)
    written = save_dataset(ds, out)
    log_console().print(escape(f"wrote {written}"))


def dataset_info(ds: ConversationDataset) -> dict[str, object]:
    """What ``lmam data info --json`` prints for a dataset."""
    splits = {}
    for split, convs in ds.splits.items():
        lengths = [len(c) for c in convs]
        entry: dict[str, object] = {
            "dialogues": len(convs),
            "utterances": sum(lengths),
            "longest_dialogue": max(lengths, default=0),
        }
        if ds.label_names:
            ys = np.concatenate([c.labels for c in convs]) if convs else np.zeros(0, np.int64)
            counts = Counter(ys.tolist())
            entry["labels"] = {n: int(counts[i]) for i, n in enumerate(ds.label_names)}
        splits[split] = entry
    return {
        "name": ds.name,
        "task": ds.task,
        "label_names": list(ds.label_names),
        "modalities": dict(ds.modalities),
        "speakers": ds.num_speakers,
        "selection": ds.selection,
        "epochs": ds.epochs,
        "splits": splits,
        "provenance": {k: str(v) for k, v in ds.provenance.items()},
        "warning": ds.warning,
    }


def conversation_info(conv: ConversationFile) -> dict[str, object]:
    """What ``lmam data info --json`` prints for a conversation file."""
    utterances = conv.utterances
    counts = Counter(u.label for u in utterances)
    return {
        "path": str(conv.path),
        "dialogues": len(conv.dialogues),
        "utterances": len(utterances),
        "speakers": len(conv.speakers),
        "labels": {n: counts[n] for n in conv.label_names} if conv.has_labels else None,
        "columns": list(conv.columns),
        "ignored_columns": list(conv.ignored),
        "splits": dict(Counter(d.split for d in conv.dialogues)),
        "longest_dialogue": max((len(d) for d in conv.dialogues), default=0),
    }


def _open(name_or_path: str, path: Path | None, option: list[str]) -> ConversationDataset:
    """Open the dataset (a bad option is an ``OptionError``, bad data a ``DataError``)."""
    options = parse_pairs(option, "--option")
    if path is not None:
        options["path"] = path
    return open_dataset(name_or_path, **options)


def info_tables(ds: ConversationDataset) -> list[Table]:
    """The tables of ``lmam data info``: overview, splits, labels, provenance."""
    return [_overview(ds), _splits(ds), *([_labels(ds)] if ds.label_names else []), _provenance(ds)]


def _overview(ds: ConversationDataset) -> Table:
    table = Table(title=escape(f"dataset {ds.name}"), show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    widths = ", ".join(f"{m} {w}" for m, w in ds.modalities.items())
    convs = [c for split in ds.splits.values() for c in split]
    with_texts = sum(len(c) for c in convs if c.texts is not None)
    selection = (
        ds.selection if ds.epochs is None else f"{ds.selection} ({plural(ds.epochs, 'epoch')})"
    )
    rows = [
        ("task", ds.task),
        ("classes", f"{ds.num_classes}: {', '.join(ds.label_names)}" if ds.label_names else "-"),
        ("modalities", widths or "none (transcripts only)"),
        ("speakers", str(ds.num_speakers)),
        ("utterances with text", f"{with_texts} of {sum(len(c) for c in convs)}"),
        ("recommended selection", selection),
    ]
    for key, value in rows:
        table.add_row(key, escape(value))
    return table


def _splits(ds: ConversationDataset) -> Table:
    table = Table(title="splits")
    for column in ("split", "dialogues", "utterances", "longest dialogue"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split, convs in ds.splits.items():
        lengths = [len(c) for c in convs]
        table.add_row(split, str(len(convs)), str(sum(lengths)), str(max(lengths, default=0)))
    return table


def _labels(ds: ConversationDataset) -> Table:
    table = Table(title="label distribution (utterances)")
    table.add_column("label")
    counts = {}
    for split, convs in ds.splits.items():
        table.add_column(split, justify="right")
        ys = np.concatenate([c.labels for c in convs]) if convs else np.zeros(0, np.int64)
        counts[split] = (Counter(ys.tolist()), max(len(ys), 1))
    for i, name in enumerate(ds.label_names):
        cells = [f"{c[i]} ({100 * c[i] / n:.1f}%)" for c, n in counts.values()]
        table.add_row(escape(f"{i} {name}"), *cells)
    return table


def _provenance(ds: ConversationDataset) -> Table:
    table = Table(title="provenance", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    for key, value in ds.provenance.items():
        table.add_row(escape(key), escape(str(value)))
    return table


def conversation_tables(conv: ConversationFile) -> list[Table]:
    """The tables of ``lmam data info`` for a conversation file: overview and labels."""
    utterances = conv.utterances
    table = Table(title=escape(f"conversations {conv.path}"), show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    optional = [c for c in conv.columns if c not in ("dialogue", "turn", "speaker", "text")]
    splits = Counter(d.split for d in conv.dialogues)
    rows = [
        ("dialogues", str(len(conv.dialogues))),
        ("utterances", str(len(utterances))),
        ("speakers", str(len(conv.speakers))),
        ("labels", ", ".join(conv.label_names) if conv.has_labels else "none (no label column)"),
        ("optional columns", ", ".join(optional) or "none"),
        ("splits", ", ".join(f"{s} {n}" for s, n in splits.items())),
        ("longest dialogue", str(max((len(d) for d in conv.dialogues), default=0))),
    ]
    if conv.has_audio:
        rows.append(("audio files", str(len({u.audio for u in utterances}))))
    if conv.ignored:
        rows.append(("ignored columns", ", ".join(conv.ignored)))
    for key, value in rows:
        table.add_row(key, escape(value))
    tables = [table]
    if conv.has_labels:
        counts = Counter(u.label for u in utterances)
        labels = Table(title="label distribution (utterances)")
        labels.add_column("label")
        labels.add_column("utterances", justify="right")
        for name in conv.label_names:
            n = counts[name]
            labels.add_row(escape(name), f"{n} ({100 * n / max(len(utterances), 1):.1f}%)")
        tables.append(labels)
    return tables
