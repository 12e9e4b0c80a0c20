"""Records of finished runs: kept without weights, restored elsewhere, reused there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmam.errors import RunError
from lmam.experiments.grid import run_grid
from lmam.experiments.records import MARKER, is_record, restore_record, save_record
from lmam.experiments.runs import find_runs
from lmam.train.inference import load_model
from tests.experiments.configs import TINY

VARIANTS = {"concat": {"fusion": "concat"}, "lmam": {"fusion": "lmam", "embed": "late"}}


def test_a_record_keeps_the_metrics_without_weights(tmp_path: Path) -> None:
    run_grid(TINY, {"concat": {}}, [0], tmp_path / "runs")
    run = tmp_path / "runs" / "concat-s0"
    assert save_record(run, tmp_path / "rec")
    rec = tmp_path / "rec"
    names = sorted(p.name for p in rec.iterdir())
    assert names == sorted(["config.yaml", "confusion.csv", MARKER, "metrics.json", "summary.json"])
    assert (rec / "summary.json").read_text() == (run / "summary.json").read_text()
    full = json.loads((run / "metrics.json").read_text())["history"]
    slim = json.loads((rec / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in slim] == [h["epoch"] for h in full]
    for a, b in zip(full, slim):
        assert "per_class" in a["test"] and "per_class" not in b["test"]
        assert b["test"]["weighted_f1"] == a["test"]["weighted_f1"] and b["loss"] == a["loss"]
    assert is_record(rec) and not is_record(run)


def test_an_unfinished_run_leaves_no_record(tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    TINY.dump(run / "config.yaml")
    assert not save_record(run, tmp_path / "rec")
    assert not (tmp_path / "rec").exists()
    assert not restore_record(tmp_path / "rec", tmp_path / "elsewhere")


def test_a_grid_elsewhere_reuses_the_records_instead_of_training(tmp_path: Path) -> None:
    records = tmp_path / "records"
    first = run_grid(TINY, VARIANTS, [0, 1], tmp_path / "a", records=records)
    assert sorted(p.name for p in records.iterdir()) == [
        "concat-s0",
        "concat-s1",
        "lmam-s0",
        "lmam-s1",
    ]
    kept = records / "lmam-s1" / "summary.json"
    stamp = kept.stat().st_mtime_ns
    run_grid(TINY, VARIANTS, [0, 1], tmp_path / "a", records=records)  # reused: kept as it is
    assert kept.stat().st_mtime_ns == stamp
    # another machine: an empty runs folder, the records only
    second = run_grid(TINY, VARIANTS, [0, 1], tmp_path / "b", records=records)
    # the restored runs are not written back (the records keep the folder they came from)
    assert json.loads(kept.read_text())["run_dir"] == str(tmp_path / "a" / "lmam-s1")
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
    kept = json.loads((records / "concat-s0" / "summary.json").read_text())
    assert kept["test"] == other["concat"][0]["test"]  # the record follows the new run
