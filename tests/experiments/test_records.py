"""Records of finished runs: kept without weights, one JSON line per run in one
file per dataset, restored elsewhere, reused there."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lmam.errors import RunError
from lmam.experiments.grid import run_grid
from lmam.experiments.records import (
    MARKER,
    is_record,
    read_record,
    read_records,
    records_file,
    restore_record,
    save_record,
    slim_history,
    write_records,
)
from lmam.experiments.runs import find_runs
from lmam.train import TrainConfig
from lmam.train.inference import load_model
from tests.experiments.configs import TINY

VARIANTS = {"concat": {"fusion": "concat"}, "lmam": {"fusion": "lmam", "embed": "late"}}


def test_a_record_keeps_the_metrics_without_weights(tmp_path: Path) -> None:
    run_grid(TINY, {"concat": {}}, [0], tmp_path / "runs")
    run = tmp_path / "runs" / "concat-s0"
    assert save_record(run, tmp_path / "rec" / "concat-s0")
    assert records_file(tmp_path / "rec") == tmp_path / "rec.jsonl"
    assert not (tmp_path / "rec").exists()  # one file, not a folder per run
    line = json.loads((tmp_path / "rec.jsonl").read_text())  # one line
    assert list(line) == ["run", "config", "summary", "confusion", "metrics"]
    assert line["run"] == "concat-s0"
    assert line["summary"] == json.loads((run / "summary.json").read_text())
    assert line["confusion"] == (run / "confusion.csv").read_text()
    assert TrainConfig.from_dict(line["config"]) == TrainConfig.load(run / "config.yaml")
    full = json.loads((run / "metrics.json").read_text())["history"]
    slim = line["metrics"]["history"]
    assert [h["epoch"] for h in slim] == [h["epoch"] for h in full]
    for a, b in zip(full, slim):
        assert "per_class" in a["test"] and "per_class" not in b["test"]
        assert b["test"]["weighted_f1"] == a["test"]["weighted_f1"] and b["loss"] == a["loss"]
    assert read_record(tmp_path / "rec" / "concat-s0") == line
    assert read_record(tmp_path / "rec.jsonl" / "concat-s0") == line
    assert read_record(tmp_path / "rec" / "other-s0") is None
    assert not is_record(run)


def test_a_record_round_trips_and_restores_the_run_directory(tmp_path: Path) -> None:
    run_grid(TINY, {"concat": {}}, [0], tmp_path / "runs")
    run = tmp_path / "runs" / "concat-s0"
    assert save_record(run, tmp_path / "rec" / "concat-s0")
    write_records(tmp_path / "rec", read_records(tmp_path / "rec"))  # read, written again
    there = tmp_path / "elsewhere" / "concat-s0"
    assert restore_record(tmp_path / "rec" / "concat-s0", there)
    assert sorted(p.name for p in there.iterdir()) == sorted(
        ["config.yaml", "confusion.csv", MARKER, "metrics.json", "summary.json"]
    )
    # as if it had been trained there, with the same metrics
    config = TrainConfig.load(run / "config.yaml")
    moved = dataclasses.replace(config, out_dir=str(there.parent), name=there.name)
    assert TrainConfig.load(there / "config.yaml") == moved
    summary = json.loads((run / "summary.json").read_text())
    assert json.loads((there / "summary.json").read_text()) == {**summary, "run_dir": str(there)}
    assert (there / "confusion.csv").read_bytes() == (run / "confusion.csv").read_bytes()
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["history"] = slim_history(metrics["history"])
    assert (there / "metrics.json").read_text() == json.dumps(metrics, indent=2) + "\n"
    marker = json.loads((there / MARKER).read_text())
    assert marker["record_of"] == "concat-s0" and marker["weights"] is False
    assert is_record(there)
    # restored twice, the same bytes; a run directory that is there is left alone
    again = tmp_path / "again" / "concat-s0"
    assert restore_record(tmp_path / "rec" / "concat-s0", again)
    assert (again / "metrics.json").read_bytes() == (there / "metrics.json").read_bytes()
    assert not restore_record(tmp_path / "rec" / "concat-s0", there)
    assert not restore_record(tmp_path / "rec" / "missing-s0", tmp_path / "x" / "missing-s0")
    assert not (tmp_path / "x" / "missing-s0").exists()


def test_lines_are_sorted_by_run_and_one_is_replaced_in_place(tmp_path: Path) -> None:
    run_grid(TINY, {"b": {}, "a": {}}, [0], tmp_path / "runs")
    for name in ("b-s0", "a-s0"):
        assert save_record(tmp_path / "runs" / name, tmp_path / "rec" / name)
    lines = (tmp_path / "rec.jsonl").read_text().splitlines()
    assert [json.loads(x)["run"] for x in lines] == ["a-s0", "b-s0"]
    # b trained again with other settings: its line alone changes
    run_grid(TINY, {"b": {"lr": TINY.lr / 2}}, [0], tmp_path / "runs")
    assert save_record(tmp_path / "runs" / "b-s0", tmp_path / "rec" / "b-s0")
    after = (tmp_path / "rec.jsonl").read_text().splitlines()
    assert after[0] == lines[0] and after[1] != lines[1] and len(after) == 2
    assert json.loads(after[1])["config"]["lr"] == TINY.lr / 2
    assert not list(tmp_path.glob(".*"))  # no temporary or lock file left
    with pytest.raises(ValueError, match="names the run"):
        write_records(tmp_path / "rec", {"a-s0": json.loads(lines[1])})


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"run": "a-s0", "config": {}', "not valid JSON"),
        ("[1, 2]", "not a run record"),
        ('{"config": {}, "summary": {}}', "not a run record"),
        ('{"run": "b-s0", "config": {}}', "the record of b-s0: summary missing"),
        ('{"run": "b-s0", "config": {}, "summary": {}, "confusion": 3}', "confusion not a"),
        ('{"run": "b-s0", "config": {}, "summary": {}, "weights": 1}', "unknown keys weights"),
        ('{"run": "a-s0", "config": {}, "summary": {}}', "recorded twice \\(also line 1\\)"),
    ],
)
def test_a_malformed_line_is_reported_with_its_file_and_line(
    tmp_path: Path, line: str, why: str
) -> None:
    file = tmp_path / "rec.jsonl"
    file.write_text('{"run": "a-s0", "config": {}, "summary": {}}\n\n' + line + "\n")
    with pytest.raises(RunError, match=f"{file}, line 3: .*{why}"):
        read_records(tmp_path / "rec")
    with pytest.raises(RunError, match="line 3"):  # restoring from it too
        restore_record(tmp_path / "rec" / "a-s0", tmp_path / "runs" / "a-s0")
    assert not (tmp_path / "runs").exists()
    assert read_records(tmp_path / "none") == {}


def test_an_unfinished_run_leaves_no_record(tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    TINY.dump(run / "config.yaml")
    assert not save_record(run, tmp_path / "rec" / "r")
    assert not (tmp_path / "rec.jsonl").exists()
    assert not restore_record(tmp_path / "rec" / "r", tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()


def test_a_grid_elsewhere_reuses_the_records_instead_of_training(tmp_path: Path) -> None:
    records = tmp_path / "records"
    first = run_grid(TINY, VARIANTS, [0, 1], tmp_path / "a", records=records)
    assert list(read_records(records)) == ["concat-s0", "concat-s1", "lmam-s0", "lmam-s1"]
    kept = records_file(records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "records.jsonl"]
    stamp = kept.stat().st_mtime_ns
    run_grid(TINY, VARIANTS, [0, 1], tmp_path / "a", records=records)  # reused: kept as it is
    assert kept.stat().st_mtime_ns == stamp
    # another machine: an empty runs folder, the records only
    second = run_grid(TINY, VARIANTS, [0, 1], tmp_path / "b", records=records)
    # the restored runs are not written back (the records keep the folder they came from)
    assert kept.stat().st_mtime_ns == stamp
    record = read_record(records / "lmam-s1")
    assert record is not None and record["summary"]["run_dir"] == str(tmp_path / "a" / "lmam-s1")
    for name in VARIANTS:
        for seed, a, b in zip([0, 1], first[name], second[name]):
            assert b["reused"] and not a["reused"]
            assert b["test"] == a["test"]
            assert b["run_dir"] == str(tmp_path / "b" / f"{name}-s{seed}")
    run = tmp_path / "b" / "lmam-s1"
    assert is_record(run) and not (run / "best").exists()
    with pytest.raises(RunError, match="without weights; train it again"):
        load_model(run)
    found, skipped = find_runs([tmp_path / "b"])
    assert len(found) == 4 and not skipped


def test_fresh_trains_instead_of_restoring(tmp_path: Path) -> None:
    records = tmp_path / "records"
    run_grid(TINY, {"concat": {}}, [0], tmp_path / "a", records=records)
    again = run_grid(TINY, {"concat": {}}, [0], tmp_path / "b", records=records, fresh=True)
    assert not again["concat"][0]["reused"]
    assert (tmp_path / "b" / "concat-s0" / "best").is_dir()
    assert not is_record(tmp_path / "b" / "concat-s0")


def test_a_record_of_other_settings_is_trained_over(tmp_path: Path) -> None:
    records = tmp_path / "records"
    run_grid(TINY, {"concat": {}}, [0], tmp_path / "a", records=records)
    other = run_grid(TINY, {"concat": {"lr": TINY.lr / 2}}, [0], tmp_path / "b", records=records)
    assert not other["concat"][0]["reused"]
    kept = read_record(records / "concat-s0")
    assert kept is not None and list(read_records(records)) == ["concat-s0"]
    assert kept["summary"]["test"] == other["concat"][0]["test"]  # the record follows the new run
