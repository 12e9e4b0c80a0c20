"""Records of finished runs: what a table is made from, kept where the runs are not.

A finished run directory holds its weights (``best/``, ``state/``: megabytes)
and its record: ``config.yaml``, ``summary.json`` (the selected epoch's
metrics, per class), ``confusion.csv`` and ``metrics.json`` (every epoch).
``lmam reproduce`` keeps the record of each run it uses in
``OUT/runs/DATASET.jsonl`` (``results/runs/...``, committed beside the tables)
and restores a record into the runs folder when the run is not there. A table
whose runs take longer than one working session thus continues on another
machine from the runs finished on the first, and every figure of a table can
be traced to the runs it came from.

One file per dataset, one line per run, sorted by run name (this module alone
reads and writes it)::

    {"run": "bclstm-s0", "config": {...}, "summary": {...},
     "confusion": "label \\ prediction,...\\n...", "metrics": {...}}

``config`` is the run's ``config.yaml`` as a mapping, ``summary`` and
``metrics`` its JSON files, ``confusion`` the text of ``confusion.csv``
(``confusion`` and ``metrics`` are left out where the run has no such file).
A record is addressed as ``RECORDS/RUN``, e.g. ``results/runs/meld-text/bclstm-s0``:
the line of ``bclstm-s0`` in ``results/runs/meld-text.jsonl``
(:func:`records_file`). Saving a record rewrites the file with that line
replaced (atomically, under a lock, so that tables made at the same time keep
each other's records); a line that cannot be read is an error naming the file
and the line.

A record's ``metrics`` keeps each epoch's loss, time and scalar metrics per
split (not the per-class metrics and confusion matrix of every epoch, which
would make it 15 times larger; the selected epoch's are in ``summary``). A
restored run has no weights: ``record.json`` in it says so, and ``lmam
evaluate`` or ``lmam predict`` on it is refused with that reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lmam.errors import RunError
from lmam.experiments.locks import run_lock
from lmam.options import load_yaml
from lmam.outputs import atomic_write_json, atomic_write_text
from lmam.train.config import TrainConfig

MARKER = "record.json"
"""The file that marks a run directory as a record restored without weights."""

SUFFIX = ".jsonl"
"""The records of one dataset's runs: ``RECORDS.jsonl``."""

FIELDS = ("run", "config", "summary", "confusion", "metrics")
"""The keys of a record's line, in the order they are written."""
OPTIONAL = ("confusion", "metrics")
"""The keys absent where the run has no such file."""
JSON_KINDS = {dict: "object", str: "string"}

SPLITS = ("train", "valid", "test")


def is_record(run: Path) -> bool:
    """Whether ``run`` is a record restored without weights."""
    return (Path(run) / MARKER).is_file()


def records_file(records: Path) -> Path:
    """The JSON Lines file of the records ``records``: ``results/runs/meld-text``
    (the name the tables give) is ``results/runs/meld-text.jsonl``; a path that
    ends in ``.jsonl`` is that file."""
    records = Path(records)
    return records if records.suffix == SUFFIX else records.with_name(records.name + SUFFIX)


def slim_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each epoch of ``metrics.json``'s history with only scalar metrics per split."""
    out = []
    for epoch in history:
        row = {k: v for k, v in epoch.items() if k not in SPLITS}
        for split in SPLITS:
            if isinstance(epoch.get(split), dict):
                row[split] = {
                    k: v
                    for k, v in epoch[split].items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)
                }
        out.append(row)
    return out


def _bad(file: Path, line: int, why: str) -> RunError:
    return RunError(f"{file}, line {line}: {why}; correct or remove that line")


def _check(record: Any, file: Path, line: int) -> dict[str, Any]:
    """``record`` if it is a run record (naming ``file`` and ``line`` where not)."""
    if not isinstance(record, dict):
        raise _bad(file, line, f"not a run record (a JSON {type(record).__name__}, not an object)")
    name = record.get("run")
    if not isinstance(name, str) or not name:
        raise _bad(file, line, 'not a run record (no run name under "run")')
    for key, kind in (("config", dict), ("summary", dict), ("confusion", str), ("metrics", dict)):
        if key not in record and key in OPTIONAL:
            continue
        if not isinstance(record.get(key), kind):
            why = "missing" if key not in record else f"not a JSON {JSON_KINDS[kind]}"
            raise _bad(file, line, f"the record of {name}: {key} {why}")
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise _bad(file, line, f"the record of {name}: unknown keys {', '.join(unknown)}")
    return record


def read_records(records: Path) -> dict[str, dict[str, Any]]:
    """Every record of ``records`` (see :func:`records_file`), by run name, in the
    file's order; ``{}`` where there is no such file.

    Raises:
        RunError: a line that is not a run record, or a run recorded twice
            (naming the file and the line).
    """
    file = records_file(records)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise RunError(f"{file}: cannot read these run records ({e})") from None
    out: dict[str, dict[str, Any]] = {}
    where: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = _check(json.loads(line), file, number)
        except json.JSONDecodeError as e:
            raise _bad(file, number, f"not valid JSON ({e.msg} at column {e.colno})") from None
        name = record["run"]
        if name in out:
            raise _bad(file, number, f"run {name!r} is recorded twice (also line {where[name]})")
        out[name], where[name] = record, number
    return out


def write_records(records: Path, runs: Mapping[str, dict[str, Any]]) -> Path:
    """Write ``runs`` (records by run name) as the file of ``records``, one line per
    run sorted by name (atomically: the file is whole, old or new); returns the file."""
    file = records_file(records)
    lines = []
    for name in sorted(runs):
        record = runs[name]
        if record.get("run") != name:
            raise ValueError(f"the record of {name!r} names the run {record.get('run')!r}")
        ordered = {k: record[k] for k in FIELDS if k in record}
        lines.append(json.dumps(ordered, separators=(",", ":")) + "\n")
    atomic_write_text(file, "".join(lines))
    return file


def read_record(address: Path) -> dict[str, Any] | None:
    """The record at ``address`` (``RECORDS/RUN``: the line of ``RUN`` in
    ``RECORDS.jsonl``), or ``None`` where there is none."""
    address = Path(address)
    return read_records(address.parent).get(address.name)


@contextlib.contextmanager
def _locked(file: Path) -> Iterator[None]:
    """Hold ``.<file name>.lock`` beside ``file`` (two processes saving records
    into one file then never lose each other's)."""

    with run_lock(file):
        yield


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def record_of(run: Path) -> dict[str, Any]:
    """The record of the finished run directory ``run`` (its line, as a mapping)."""
    run = Path(run)
    config = load_yaml((run / "config.yaml").read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise RunError(f"{run / 'config.yaml'}: not a run configuration (a YAML mapping)")
    record: dict[str, Any] = {
        "run": run.name,
        "config": config,
        "summary": _read_json(run / "summary.json"),
    }
    if (run / "confusion.csv").is_file():
        record["confusion"] = (run / "confusion.csv").read_bytes().decode("utf-8")
    if (run / "metrics.json").is_file():
        metrics = _read_json(run / "metrics.json")
        metrics["history"] = slim_history(list(metrics.get("history", [])))
        record["metrics"] = metrics
    return record


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def save_record(run: Path, address: Path) -> bool:
    """Keep the record of the finished run ``run`` at ``address`` (``RECORDS/RUN``,
    see :func:`read_record`), replacing an older record of that name. Returns
    ``False`` (and writes nothing) if the run has not finished. Nothing is written
    either where the record already keeps this run: the same summary, or ``run``
    is itself a record restored from there (rewriting it would only put this
    machine's folder names into it)."""
    run, address = Path(run), Path(address)
    if not (run / "summary.json").is_file() or not (run / "config.yaml").is_file():
        return False
    kept = read_record(address)
    if kept is not None and (
        is_record(run) or _same_json(kept["summary"], _read_json(run / "summary.json"))
    ):
        return True
    record = {**record_of(run), "run": address.name}
    file = records_file(address.parent)
    with _locked(file):
        runs = read_records(file)  # again, under the lock
        runs[address.name] = record
        write_records(file, runs)
    return True


def _replace_dir(tmp: Path, dest: Path) -> None:
    """Put the folder ``tmp`` in the place of ``dest`` (renames: never half-written).

    Where another process restores the same run at the same time and its folder
    lands first, that one is kept (both hold the same run's record)."""
    old = dest.with_name(f".{dest.name}.{os.getpid()}.old")
    with contextlib.suppress(FileNotFoundError):
        os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except OSError:  # another process's folder is there now (not empty)
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def restore_record(address: Path, run: Path) -> bool:
    """Put the record at ``address`` (``RECORDS/RUN``) in the place of the run
    directory ``run`` if that is absent: its ``config.yaml`` then names ``run``'s
    folder and ``summary.json`` its path, as if it had been trained there, and
    ``record.json`` says it has no weights. Returns whether it restored."""
    address, run = Path(address), Path(run)
    if run.exists():
        return False
    record = read_record(address)
    if record is None:
        return False
    tmp = run.with_name(f".{run.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = TrainConfig.from_dict(dict(record["config"]))
    dataclasses.replace(config, out_dir=str(run.parent), name=run.name).dump(tmp / "config.yaml")
    atomic_write_json(tmp / "summary.json", {**record["summary"], "run_dir": str(run)})
    if "confusion" in record:
        atomic_write_text(tmp / "confusion.csv", record["confusion"])
    if "metrics" in record:
        atomic_write_json(tmp / "metrics.json", record["metrics"])
    atomic_write_json(
        tmp / MARKER,
        {
            "record_of": address.name,
            "weights": False,
            "note": "the record of a finished run (configuration, metrics, confusion "
            "matrix); its weights were not kept",
        },
    )
    _replace_dir(tmp, run)
    return True
