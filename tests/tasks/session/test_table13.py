"""Table XIII end to end on a tiny synthetic Diginetica: both models over seeds, the
paired t-test against SciPy, reuse of finished runs and records, continuation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scipy import stats
from typer.testing import CliRunner

from lmam.cli import app
from lmam.data.errors import DataError
from lmam.errors import OptionError, RunError
from lmam.experiments.paper import SESSION_METRICS
from lmam.experiments.records import read_records, write_records
from lmam.tasks.session import table13 as t13
from lmam.tasks.session.train import SessionConfig, SessionTrainer

SMALL = {"dim": 16, "batch_size": 16, "lmam_rank": 4}


def run(session_dir: Path, tmp_path: Path, epochs: int = 2, **kw: object) -> t13.Report:
    return t13.run_table13(
        str(session_dir), [0, 1], epochs=epochs, jobs=1, runs_dir=tmp_path / "runs",
        out=tmp_path / "out", overrides=SMALL, log=False, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_table_rows_and_ttest_match_scipy(session_dir: Path, tmp_path: Path) -> None:
    report = run(session_dir, tmp_path)
    md = (tmp_path / "out" / "table13" / "diginetica" / "table13.md").read_text()
    payload = json.loads((tmp_path / "out" / "table13" / "diginetica" / "table13.json").read_text())
    assert "DHCN (paper) | 27.24 | 39.87 | 53.18" in md and "paired t-test p" in md
    page = (tmp_path / "out" / "README.md").read_text()  # the results page shows it too
    assert "### Table XIII" in page and "Command: `lmam session table13" in page
    assert [r[0] for r in report.rows][:4] == ["DHCN (ours)", "DHCN (paper)", "DHCN* (ours)",
                                               "DHCN* (paper)"]  # fmt: skip
    for metric in SESSION_METRICS:
        a = [payload["runs"]["DHCN*"][s]["test"][metric] for s in ("0", "1")]
        b = [payload["runs"]["DHCN"][s]["test"][metric] for s in ("0", "1")]
        got = payload["paired_ttests"][metric]
        assert got["mean_difference"] == pytest.approx((a[0] + a[1] - b[0] - b[1]) / 2)
        if a[0] - b[0] != a[1] - b[1]:
            assert got["p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    # the records: one line per run in out/runs/diginetica.jsonl, sorted by run name
    assert sorted(p.name for p in (tmp_path / "out" / "runs").iterdir()) == ["diginetica.jsonl"]
    records = read_records(tmp_path / "out" / "runs" / "diginetica")
    assert list(records) == ["dhcn-lmam-s0", "dhcn-lmam-s1", "dhcn-s0", "dhcn-s1"]
    for name, record in records.items():
        assert list(record) == ["run", "config", "summary", "metrics"]  # no confusion matrix
        run_dir = tmp_path / "runs" / "diginetica" / name
        assert record["summary"] == json.loads((run_dir / "summary.json").read_text())
        assert SessionConfig(**record["config"]) == SessionConfig.load(run_dir / "config.yaml")


def test_finished_runs_and_records_are_reused_not_retrained(
    session_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(session_dir, tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(t13, "_train", refuse)
    shutil.rmtree(tmp_path / "out" / "runs")
    assert run(session_dir, tmp_path).rows == first.rows  # from the run directories
    assert len(read_records(tmp_path / "out" / "runs" / "diginetica")) == 4  # recorded again
    for folder in (tmp_path / "runs").iterdir():  # the runs are gone: the records stand in
        for r in folder.iterdir():
            for f in r.rglob("*"):
                if f.is_file():
                    f.unlink()
    assert run(session_dir, tmp_path).rows == first.rows
    with pytest.raises(AssertionError, match="trained again"):  # other settings: retrained
        run(session_dir, tmp_path, epochs=3)


def test_a_record_of_another_kind_of_run_is_an_error(session_dir: Path, tmp_path: Path) -> None:
    line = {"run": "dhcn-s0", "config": {"backbone": "bclstm"}, "summary": {}}
    write_records(tmp_path / "out" / "runs" / "diginetica", {"dhcn-s0": line})
    with pytest.raises(RunError, match="dhcn-s0: the record is not of a session run"):
        run(session_dir, tmp_path)


def test_an_interrupted_run_continues(session_dir: Path, tmp_path: Path) -> None:
    # one run trained for 1 epoch only, as if the table had been stopped after it
    config = SessionConfig(
        data_dir=str(session_dir), out_dir=str(tmp_path / "runs" / "diginetica"),
        name="dhcn-s0", epochs=1, threads=1, **SMALL,  # type: ignore[arg-type]
    )  # fmt: skip
    SessionTrainer(config, log=False).fit()
    one = json.loads((tmp_path / "runs/diginetica/dhcn-s0/metrics.json").read_text())["history"]
    run(session_dir, tmp_path)
    both = json.loads((tmp_path / "runs/diginetica/dhcn-s0/metrics.json").read_text())["history"]
    assert len(both) == 2 and both[0] == one[0]  # the first epoch was kept, not redone


def test_subsample_is_labelled_and_errors_are_clear(session_dir: Path, tmp_path: Path) -> None:
    report = run(session_dir, tmp_path, epochs=1, max_cases=50)
    assert report.dataset == "diginetica-sub50" and "not a reproduction" in report.notes[0]
    assert (tmp_path / "out" / "table13" / "diginetica-sub50" / "table13.md").exists()
    with pytest.raises(OptionError, match="distinct seeds"):
        t13.run_table13(str(session_dir), [0, 0], out=None)
    other = tmp_path / "runs" / "diginetica" / "dhcn-s0"
    other.mkdir(parents=True)
    SessionConfig(data_dir=str(session_dir), dim=8).dump(other / "config.yaml")
    with pytest.raises(OptionError, match="other settings"):
        run(session_dir, tmp_path)
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="no such folder"):
        run(missing, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()  # nothing was written


def test_cli_table13_in_parallel(session_dir: Path, tmp_path: Path) -> None:
    args = ["session", "table13", "--data-dir", str(session_dir), "--seeds", "2", "--epochs", "1",
            "--dim", "16", "--batch-size", "16", "--jobs", "2", "--runs-dir",
            str(tmp_path / "runs"), "--out", str(tmp_path / "out")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| DHCN* (ours) |" in result.output
    bad = CliRunner().invoke(app, [*args[:4], "--seeds", "1"])
    assert bad.exit_code == 2 and "--seeds" in bad.output
