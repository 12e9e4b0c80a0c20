"""``lmam reproduce``: every table end to end in --quick size.

Classification tables run on synthetic trimodal stand-ins of the classic
IEMOCAP and MELD pickles (written by the tests in their exact structure);
Tables IV and X on the bundled CMU-MOSI (regression on its continuous labels).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from lmam.cli import app
from lmam.experiments.paper import lookup as published
from lmam.experiments.records import read_record
from lmam.experiments.reproduce.tables import TABLES
from tests.data.erc_fixtures import classic_iemocap, classic_meld, write

runner = CliRunner()


def reproduce(root: Path, *args: str) -> str:
    result = runner.invoke(
        app,
        [
            "reproduce",
            *args,
            "--quick",
            "--jobs",
            "1",
            "--runs-dir",
            str(root / "runs"),
            "--out",
            str(root / "results"),
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every table, made once in --quick size; returns the results folder."""
    root = tmp_path_factory.mktemp("reproduce")
    iemocap = write(root / "IEMOCAP_features.pkl", classic_iemocap())
    meld = write(root / "MELD_features.pkl", classic_meld())
    for table in ("table2", "table5", "table6", "table7", "table9", "table11", "table12", "fig5"):
        reproduce(root, table, "--dataset", str(iemocap))
    for table in ("table3", "table8"):
        reproduce(root, table, "--dataset", str(meld))
    for table in ("table4", "table10"):
        reproduce(root, table, "--dataset", "mosi")
    return root / "results-quick"


def _written(results: Path, table: str, dataset: str) -> tuple[str, dict]:
    folder = results / table / dataset
    md = (folder / f"{table}.md").read_text()
    payload = json.loads((folder / f"{table}.json").read_text())
    return md, payload


@pytest.mark.parametrize(
    "table, dataset",
    [
        ("table2", "IEMOCAP_features"),
        ("table3", "MELD_features"),
        ("table4", "mosi"),
        ("table5", "IEMOCAP_features"),
        ("table6", "IEMOCAP_features"),
        ("table7", "IEMOCAP_features"),
        ("table8", "MELD_features"),
        ("table9", "IEMOCAP_features"),
        ("table10", "mosi"),
        ("table11", "IEMOCAP_features"),
        ("table12", "IEMOCAP_features"),
        ("fig5", "IEMOCAP_features"),
    ],
)
def test_every_table_writes_markdown_and_json(made: Path, table: str, dataset: str) -> None:
    md, payload = _written(made, table, dataset)
    assert md.startswith("## ") and f"| {payload['header'][0]} |" in md
    assert payload["table"] == table and payload["environment"]["torch"]
    assert payload["rows"] and all(len(r) == len(payload["header"]) for r in payload["rows"])
    runs = payload["runs"]
    assert all(len(seeds) == 2 for seeds in runs.values())  # --quick: 2 seeds
    assert "smoke test" in md
    made_ = payload["made"]
    assert made_["runs"] == sum(len(seeds) for seeds in runs.values())
    seconds = sum(r["seconds_per_epoch"] * r["epochs_run"] for rs in runs.values() for r in rs)
    assert made_["training_seconds"] == pytest.approx(seconds) and "Cost on this machine" in md
    for fig in payload["figures"]:
        png = (made / table / dataset / fig).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    assert table in (made / "README.md").read_text()


def test_every_table_has_a_function_and_defaults():
    assert set(TABLES) == {f"table{k}" for k in range(2, 13)} | {"fig5"}
    for spec in TABLES.values():
        assert spec.seeds in (3, 5) and spec.datasets


def test_plug_and_play_puts_the_papers_rows_beside_ours(made: Path) -> None:
    _md, payload = _written(made, "table2", "IEMOCAP_features")
    paper = published.classification("iemocap", "emocaps", "lmam")
    assert paper is not None
    row = next(r for r in payload["rows"] if r[:2] == ["EmoCaps*", "paper"])
    assert row[-2:] == [f"{paper['weighted'][0]:.2f}", f"{paper['weighted'][1]:.2f}"]
    ours = next(r for r in payload["rows"] if r[:2] == ["EmoCaps*", "ours"])
    accs = [r["test"]["accuracy"] for r in payload["runs"]["emocaps-lmam"]]
    assert ours[-2].startswith(f"{100 * np.mean(accs):.2f} ± {100 * np.std(accs, ddof=1):.2f}")
    delta = payload["rows"][payload["rows"].index(ours) + 2]
    base = [r["test"]["accuracy"] for r in payload["runs"]["emocaps"]]
    assert delta[0] == "Δ" and delta[-2] == f"{100 * (np.mean(accs) - np.mean(base)):+.2f}"


def test_significance_is_scipys_paired_t_test_on_the_runs(made: Path) -> None:
    _, payload = _written(made, "table7", "IEMOCAP_features")
    runs = payload["runs"]
    for cls, got in payload["ttests"]["bclstm"].items():
        a = [r["test"]["per_class"][cls]["f1"] for r in runs["bclstm-lmam"]]
        b = [r["test"]["per_class"][cls]["f1"] for r in runs["bclstm"]]
        want = stats.ttest_rel(a, b).pvalue
        if np.isfinite(want):
            assert got["p"] == pytest.approx(want)
        else:
            assert got["p"] is None


def test_regression_table_reports_the_mosi_metrics(made: Path) -> None:
    md, payload = _written(made, "table4", "mosi")
    assert payload["header"][2:] == ["acc2", "f1", "mae", "pearson_r", "acc7"]
    assert "62/31" in md
    run = payload["runs"]["bclstm"][0]
    assert set(run["test"]) >= {"mae", "pearson_r", "acc7"}


def test_widened_backbones_match_the_lmam_parameter_count(made: Path) -> None:
    _, payload = _written(made, "table5", "IEMOCAP_features")
    runs = payload["runs"]
    for b, target in payload["targets"].items():
        wide = runs[f"{b}-wide"][0]["parameters"]
        assert abs(wide - target) <= abs(runs[b][0]["parameters"] - target)
        assert runs[f"{b}-lmam"][0]["parameters"] == target


def test_modality_ablation_covers_every_subset(made: Path) -> None:
    _, payload = _written(made, "table10", "mosi")
    assert [r[0] for r in payload["rows"]] == ["T", "A", "V", "T+A", "T+V", "V+A", "T+A+V"]


def test_a_second_call_reuses_every_run_and_keeps_the_training_calls(made: Path) -> None:
    root = made.parent
    before = _written(made, "table11", "IEMOCAP_features")[1]["made"]["calls"]
    out = reproduce(root, "table11", "--dataset", str(root / "IEMOCAP_features.pkl"))
    assert "reusing" in out and "training" not in out
    reused = [line for line in out.splitlines() if line.startswith("reusing")]
    assert max(map(len, reused)) > 80  # longer than the console: each still on one line
    assert all(line.endswith("(finished earlier with the same settings)") for line in reused)
    md, payload = _written(made, "table11", "IEMOCAP_features")
    # the wall time of the call that trained the runs survives a call that reused them
    assert payload["made"]["trained"] == 0 and payload["made"]["calls"] == before
    assert len(before) == 1  # its runs not trained for an earlier table
    assert 0 < before[0]["trained"] <= sum(len(r) for r in payload["runs"].values())
    assert f"{before[0]['trained']} in {before[0]['wall_seconds'] / 60:.1f} min" in md


def test_a_table_continues_elsewhere_from_the_records_of_its_runs(
    made: Path, tmp_path: Path
) -> None:
    """Another machine has the results folder (records included) and no runs: the
    table is remade from the records; only what needs weights is trained again (the
    self-attention base of LoRA*, and LoRA* on it)."""
    root = made.parent
    shutil.copytree(made, tmp_path / "results-quick")
    assert read_record(made / "runs" / "IEMOCAP_features" / "emocaps-slot-lora-s0") is not None
    assert not (made / "runs" / "IEMOCAP_features").exists()  # records: one file per dataset
    out = reproduce(tmp_path, "table9", "--dataset", str(root / "IEMOCAP_features.pkl"))
    trained = sorted(line.split()[1] for line in out.splitlines() if line.startswith("training "))
    assert trained == [
        "emocaps-slot-lora_star-s0",
        "emocaps-slot-lora_star-s1",
        "emocaps-slot-self_attention-s0",
        "emocaps-slot-self_attention-s1",
    ]
    before = _written(made, "table9", "IEMOCAP_features")[1]["rows"]
    after = _written(tmp_path / "results-quick", "table9", "IEMOCAP_features")[1]["rows"]
    kept = [r for r in before if not r[0].startswith(("lora *", "self_attention"))]
    assert kept and kept == [r for r in after if not r[0].startswith(("lora *", "self_attention"))]


def test_earlier_calls_read_old_and_broken_reports(tmp_path: Path) -> None:
    from lmam.cli.reproduce import earlier_calls

    report = tmp_path / "t.json"
    assert earlier_calls(report) == []
    report.write_text("{not json")
    assert earlier_calls(report) == []
    report.write_text(json.dumps({"made": {"trained": 75, "wall_seconds": 60.0, "jobs": 1}}))
    assert earlier_calls(report) == [
        {"trained": 75, "wall_seconds": 60.0, "jobs": 1, "date": "date not recorded"}
    ]
    report.write_text(json.dumps({"made": {"trained": 0, "wall_seconds": 0.1, "jobs": 1}}))
    assert earlier_calls(report) == []
    report.write_text(json.dumps({"made": {"calls": [{"trained": 1}, 3]}}))
    assert earlier_calls(report) == []
    report.write_text(json.dumps([1, 2]))
    assert earlier_calls(report) == []


def test_tables_share_runs(made: Path) -> None:
    _, t2 = _written(made, "table2", "IEMOCAP_features")
    _, t9 = _written(made, "table9", "IEMOCAP_features")
    a = [r["run_dir"] for r in t2["runs"]["emocaps-lmam"]]
    assert a == [r["run_dir"] for r in t9["runs"]["emocaps-lmam"]]


def test_bad_table_and_single_modality_errors(tmp_path: Path) -> None:
    from lmam.data.lmam_format import save_dataset
    from lmam.train import TrainConfig
    from lmam.train.build import load_dataset

    result = runner.invoke(app, ["reproduce", "table99"])
    assert result.exit_code == 2 and "table 'table99': want one of table2" in result.output
    result = runner.invoke(app, ["reproduce", "table2", "--retrain", "dialoguegnc"])
    assert result.exit_code == 2 and "--retrain 'dialoguegnc': want a backbone" in result.output
    assert "dialoguegcn" in result.output
    for table, command in (("table13", "lmam session table13"), ("table14", "lmam humour")):
        result = runner.invoke(app, ["reproduce", table])
        assert result.exit_code == 2 and command in result.output
    result = runner.invoke(app, ["reproduce", "table4", "--data-path", str(tmp_path)])
    assert result.exit_code == 2 and "table4 runs on mosi, pom" in result.output
    missing = tmp_path / "nope.pkl"
    args = ["reproduce", "table2", "--dataset", str(missing), "--runs-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "neither a registered dataset" in result.output
    assert "queued" not in result.output and not (tmp_path / "nope").exists()
    sizes = {"train": 4, "valid": 2, "test": 2}
    one = load_dataset(TrainConfig(dataset="synthetic", dataset_options=sizes, modalities=["text"]))
    path = save_dataset(one, tmp_path / "text_only.npz")
    result = runner.invoke(
        app,
        ["reproduce", "table10", "--quick", "--dataset", str(path), "--runs-dir", str(tmp_path)],
    )
    assert result.exit_code == 2, result.output
    assert "table10 needs a dataset with two or more modalities" in result.output
    assert "has text only" in result.output


def test_results_page_summarises_every_plug_and_play_table(made: Path) -> None:
    page = (made / "README.md").read_text()
    assert page.index("## At a glance") < page.index("### Table II")
    for dataset in ("IEMOCAP_features", "MELD_features", "mosi"):
        assert f"| {dataset} | EmoCaps |" in page
    _md, payload = _written(made, "table2", "IEMOCAP_features")
    star = [r["test"]["weighted_f1"] for r in payload["runs"]["emocaps-lmam"]]
    base = [r["test"]["weighted_f1"] for r in payload["runs"]["emocaps"]]
    line = next(x for x in page.splitlines() if x.startswith("| IEMOCAP_features | EmoCaps |"))
    p = stats.ttest_rel(star, base).pvalue
    assert f"| {100 * (np.mean(star) - np.mean(base)):+.2f} | {p:.1e} |" in line or np.isnan(p)


@pytest.mark.parametrize("table, first", [("table6", "TextCNN"), ("table12", "lmam")])
def test_cost_tables_time_every_model_side_by_side(made: Path, table: str, first: str) -> None:
    md, payload = _written(made, table, "IEMOCAP_features")
    now = payload["side_by_side_seconds"]
    assert set(now) == set(payload["runs"]) and all(v > 0 for v in now.values())
    header = payload["header"]
    row = next(r for r in payload["rows"] if r[0] == first)
    column = header.index("s / epoch, side by side")
    variant = "textcnn" if table == "table6" else "emocaps-slot-lmam"
    assert row[column] == f"{now[variant]:.2f}" and "side by side" in md
    if table == "table6":
        assert row[header.index("× base")] == "1.00"
        star = next(r for r in payload["rows"] if r[0] == "TextCNN*")
        ratio = now["textcnn-lmam"] / now["textcnn"]
        assert star[header.index("× base")] == f"{ratio:.2f}"
    else:
        ratio = now["emocaps-slot-lmam"] / now["emocaps-slot-self_attention"]
        assert payload["time_ratio"] == pytest.approx(ratio)


def test_the_tables_and_studies_keep_the_recorded_random_batches(tmp_path: Path) -> None:
    from lmam.experiments.reproduce.setting import Setting
    from lmam.experiments.reproduce.tuned import side_config
    from lmam.train import TrainConfig

    assert TrainConfig().batching == "bucketed"  # the default of a new run
    assert Setting("mosi", None, [0], tmp_path, tmp_path).config.batching == "random"
    assert all(side_config("mosi", "bclstm", side).batching == "random" for side in ("own", "lmam"))
