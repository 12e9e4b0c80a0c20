import json
import shutil
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lmam.cli import app
from lmam.experiments.grid import run_grid
from lmam.experiments.runs import Run, default_metrics, settings
from lmam.train import TrainConfig
from tests.experiments.configs import TINY

BASE = TINY
VARIANTS = {"concat": {"fusion": "concat"}, "lmam": {"fusion": "lmam", "embed": "late"}}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two configurations x 2 seeds of tiny synthetic runs, and one unfinished run."""
    root = tmp_path_factory.mktemp("runs")
    run_grid(BASE, VARIANTS, [0, 1], root / "grid")
    unfinished = root / "grid" / "nested" / "unfinished-s0"
    unfinished.mkdir(parents=True)
    shutil.copy(root / "grid" / "concat-s0" / "config.yaml", unfinished / "config.yaml")
    return root


def invoke(*args: object):
    result = CliRunner().invoke(app, ["runs", *[str(a) for a in args]])
    assert "Traceback" not in result.output
    return result


def summaries(folder: Path, names: list[str]) -> list[dict]:
    return [json.loads((folder / n / "summary.json").read_text()) for n in names]


def test_runs_are_grouped_by_configuration_with_means_over_seeds(runs_dir, tmp_path):
    out, png = tmp_path / "rows.json", tmp_path / "curves.png"
    result = invoke(runs_dir / "grid", "--json", out, "--plot", png)
    assert result.exit_code == 0, result.output
    # on one line, however long the temporary folder's path
    skipped = str(runs_dir / "grid" / "nested" / "unfinished-s0")
    assert f"skipped {skipped}: unfinished (no summary.json)" in result.output.splitlines()
    payload = json.loads(out.read_text())
    assert payload["metrics"] == ["accuracy", "weighted_f1"] and payload["split"] == "test"
    assert payload["skipped"] == [
        {
            "run": str(runs_dir / "grid" / "nested" / "unfinished-s0"),
            "reason": "unfinished (no summary.json)",
        }
    ]
    rows = {row["group"]: row for row in payload["rows"]}
    assert list(rows) == ["fusion=concat embed=early", "fusion=lmam embed=late"]
    for label, name in (
        ("fusion=concat embed=early", "concat"),
        ("fusion=lmam embed=late", "lmam"),
    ):
        row = rows[label]
        assert row["seeds"] == [0, 1]
        assert row["runs"] == [str(runs_dir / "grid" / f"{name}-s{s}") for s in (0, 1)]
        runs = summaries(runs_dir / "grid", [f"{name}-s0", f"{name}-s1"])
        for m in ("accuracy", "weighted_f1"):
            values = [r["test"][m] for r in runs]
            assert row[m] == pytest.approx([statistics.mean(values), statistics.stdev(values)])
            assert row["values"][m] == values
        assert row["parameters"] == runs[0]["parameters"]
        seconds = [r["seconds_per_epoch"] for r in runs]
        assert row["seconds_per_epoch"][0] == pytest.approx(statistics.mean(seconds))
        assert row["selection"] == runs[0]["selection"]
        assert row["settings"]["fusion"] == name and "seed" not in row["settings"]
    assert (
        rows["fusion=lmam embed=late"]["parameters"]
        != rows["fusion=concat embed=early"]["parameters"]
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1024
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "rows.json"]


def test_one_group_is_labelled_by_dataset_and_backbone_and_one_seed_has_std_0(runs_dir, tmp_path):
    out = tmp_path / "rows.json"
    result = invoke(
        runs_dir / "grid" / "lmam-s1", "--json", out, "--metric", "macro_f1", "--split", "valid"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    (row,) = payload["rows"]
    assert row["group"] == "synthetic/bclstm" and row["seeds"] == [1]
    (summary,) = summaries(runs_dir / "grid", ["lmam-s1"])
    assert row["macro_f1"] == [summary["valid"]["macro_f1"], 0.0]
    assert payload["skipped"] == []


def test_a_run_given_twice_counts_once(runs_dir, tmp_path):
    out = tmp_path / "rows.json"
    result = invoke(runs_dir / "grid", runs_dir / "grid" / "concat-s0", "--json", out)
    assert result.exit_code == 0, result.output
    assert [row["seeds"] for row in json.loads(out.read_text())["rows"]] == [[0, 1], [0, 1]]


def test_a_missing_folder_or_one_without_runs_is_an_error_naming_it(runs_dir, tmp_path):
    missing = tmp_path / "nope"
    result = invoke(runs_dir / "grid", missing)
    assert result.exit_code == 1
    assert "error:" in result.output and f"{missing}: no such directory" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(empty)
    assert result.exit_code == 1 and f"{empty}: holds no run directory" in result.output
    result = invoke(runs_dir / "grid" / "nested")
    assert result.exit_code == 1 and "no finished run" in result.output
    assert "unfinished (no summary.json)" in result.output


def test_an_unknown_metric_or_split_is_a_usage_error(runs_dir):
    result = invoke(runs_dir / "grid", "--metric", "mae")
    assert result.exit_code == 2 and "metric 'mae' is not in the test metrics" in result.output
    result = invoke(runs_dir / "grid", "--split", "train")
    assert result.exit_code == 2 and "--split must be valid or test" in result.output


def test_the_derived_speaker_count_and_the_seed_do_not_make_another_group():
    plain = TrainConfig(dataset="synthetic", backbone="dialoguegcn", seed=0, name="a")
    filled = TrainConfig(
        dataset="synthetic",
        backbone="dialoguegcn",
        model_options={"num_speakers": 2},
        seed=3,
        name="b",
        out_dir="elsewhere",
        threads=2,
    )
    assert settings(plain) == settings(filled)


def test_regression_runs_default_to_the_regression_metrics():
    def run(test: dict) -> Run:
        return Run(Path("r"), TrainConfig(), {"test": test, "valid": test})

    scalar = {"mae": 0.9, "pearson_r": 0.6, "acc2": 0.7, "f1": 0.7, "acc7": 0.3, "n": 10}
    vector = {"mae": 0.5, "pearson_r": 0.4, "n": 10}
    assert default_metrics([run(scalar)]) == ["mae", "pearson_r", "acc2", "f1", "acc7"]
    assert default_metrics([run(scalar), run(vector)]) == ["mae", "pearson_r"]
    assert default_metrics([run({"accuracy": 0.5, "weighted_f1": 0.4})]) == [
        "accuracy",
        "weighted_f1",
    ]


def test_a_file_of_run_records_is_read_like_the_runs(runs_dir: Path, tmp_path: Path):
    """``lmam runs results/runs/DATASET.jsonl``: the records give the same table."""
    from lmam.experiments.records import save_record
    from lmam.experiments.runs import find_runs

    runs, _ = find_runs([runs_dir])
    for run in runs:
        save_record(run.path, tmp_path / "records" / run.path.name)
    recorded, skipped = find_runs([tmp_path / "records.jsonl"])
    assert not skipped and len(recorded) == len(runs)
    by_name = {r.path.name: r for r in recorded}
    for run in runs:
        twin = by_name[run.path.name]
        assert twin.summary == run.summary and twin.config == run.config
        assert [h["epoch"] for h in twin.history()] == [h["epoch"] for h in run.history()]
    a, b = invoke(runs_dir), invoke(tmp_path / "records.jsonl")
    assert a.exit_code == b.exit_code == 0, b.output
    rows = [line for line in a.stdout.splitlines() if "±" in line]
    assert rows and rows == [line for line in b.stdout.splitlines() if "±" in line]
