"""The equal-budget table and the design study's rule, on results written by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

from scipy import stats

from lmam.experiments.reproduce import design, tuned


def write_side(root: Path, dataset: str, backbone: str, side: str, tests: list[float]) -> None:
    folder = tuned.study_folder(root, dataset, backbone, side)
    folder.mkdir(parents=True)
    metric = tuned.REPORTED[dataset]
    best = {"metric": metric, "best_valid": 0.6, "params": {"lr": 0.001}, "trials": 30}
    best |= {"pruned": 12}
    runs = [{"seed": s, "test": {metric: v}} for s, v in enumerate(tests)]
    (folder / "best.json").write_text(json.dumps(best))
    (folder / "final.json").write_text(json.dumps({"runs": runs}))
    (folder / "wall.json").write_text(json.dumps([{"tune_seconds": 60, "final_seconds": 30}]))


def test_the_table_pairs_the_two_sides_by_seed(tmp_path: Path) -> None:
    without = [0.60, 0.61, 0.62, 0.60, 0.63]
    with_lmam = [0.62, 0.62, 0.65, 0.61, 0.66]
    write_side(tmp_path, "iemocap-text", "bclstm", "own", without)
    write_side(tmp_path, "iemocap-text", "bclstm", "lmam", with_lmam)
    write_side(tmp_path, "iemocap-text", "emocaps", "own", without)  # its other side is missing
    result = tuned.table(tmp_path, ["iemocap-text"], ["bclstm", "emocaps"])
    [row] = result["rows"]
    assert row["delta"] == sum(with_lmam) / 5 - sum(without) / 5
    assert math.isclose(row["p"], stats.ttest_rel(with_lmam, without).pvalue)
    assert row["trials"] == [30, 30] and row["wall_minutes"] == [1.5, 1.5]
    text = tuned.markdown(result, "lmam reproduce tuned")
    assert "| iemocap-text | bc-LSTM | 61.20 | 63.20 | +2.00 |" in text
    assert "LMAM ahead on average in 1 of 1 pairs, 1 of them with p < 0.05" in text


def test_a_regenerated_table_keeps_the_recorded_rows_of_studies_not_here(tmp_path: Path) -> None:
    runs, out = tmp_path / "runs", tmp_path / "results"
    write_side(runs, "iemocap-text", "bclstm", "own", [0.60, 0.61, 0.62])
    write_side(runs, "iemocap-text", "bclstm", "lmam", [0.62, 0.62, 0.65])
    write_side(runs, "mosi", "emocaps", "own", [0.70, 0.71, 0.72])
    write_side(runs, "mosi", "emocaps", "lmam", [0.71, 0.70, 0.74])
    tuned.write(tuned.table(runs, list(tuned.DATASETS), ["bclstm", "emocaps"]), out, "first")
    for side in ("own", "lmam"):  # the MOSI studies are gone; IEMOCAP's changed
        for path in tuned.study_folder(runs, "mosi", "emocaps", side).iterdir():
            path.unlink()
    write_side(runs, "meld-text", "bclstm", "own", [0.50, 0.52, 0.51])
    write_side(runs, "meld-text", "bclstm", "lmam", [0.55, 0.52, 0.53])
    rows = tuned.table(runs, list(tuned.DATASETS), ["bclstm", "emocaps"])["rows"]
    assert [(r["dataset"], r["backbone"]) for r in rows] == [
        ("iemocap-text", "bclstm"),
        ("meld-text", "bclstm"),
    ]
    tuned.write({"rows": rows}, out, "second")
    saved = json.loads((out / "tuned" / "tuned.json").read_text())["rows"]
    assert [(r["dataset"], r["backbone"], r.get("recorded", False)) for r in saved] == [
        ("mosi", "emocaps", True),
        ("iemocap-text", "bclstm", False),
        ("meld-text", "bclstm", False),
    ]
    text = (out / "tuned" / "README.md").read_text()
    assert "| mosi † | EmoCaps |" in text and "kept from the earlier record" in text


def rows_for(delta: float, p: float) -> list[dict[str, object]]:
    return [
        {"variant": design.PAPER, "better": False, "p": math.nan, "delta": 0.0},
        {"variant": "query=full", "better": delta > 0, "p": p, "delta": delta},
    ]


def test_a_default_changes_only_if_better_on_every_dataset_with_p_below_005() -> None:
    assert design.decisions({"a": rows_for(0.01, 0.01), "b": rows_for(0.02, 0.03)}) == [
        "query=full"
    ]
    assert design.decisions({"a": rows_for(0.01, 0.01), "b": rows_for(0.02, 0.2)}) == []
    assert design.decisions({"a": rows_for(0.01, 0.01), "b": rows_for(-0.02, 0.01)}) == []
    assert design.decisions({"a": rows_for(0.01, 0.01)}) == []  # one dataset decides nothing


def test_design_rows_compare_each_variant_with_the_papers_formulation() -> None:
    result = {design.PAPER: [0.60, 0.62, 0.61], "scale=none": [0.55, 0.56, 0.58]}
    paper, other = design.rows(result, "weighted_f1")
    assert paper["delta"] == 0 and math.isnan(paper["p"])
    assert not other["better"] and other["delta"] < 0
    assert math.isclose(
        other["p"], stats.ttest_rel(result["scale=none"], result[design.PAPER]).pvalue
    )
    # lower is better for MAE: a lower value is the better one
    [_, mae] = design.rows({design.PAPER: [0.9, 0.91, 0.92], "x": [0.8, 0.82, 0.81]}, "mae")
    assert mae["better"]


def test_a_design_run_keeps_the_recorded_datasets_it_does_not_run(tmp_path: Path) -> None:
    (tmp_path / "design").mkdir()
    recorded = {"datasets": {"mosi": {"rows": [1]}, "iemocap-text": {"rows": [2]}}}
    (tmp_path / "design" / "design.json").write_text(json.dumps(recorded))
    kept = {d: {**v, "recorded": True} for d, v in recorded["datasets"].items()}
    assert design.recorded_datasets(tmp_path, ["meld-text"]) == kept
    assert design.recorded_datasets(tmp_path, ["mosi"]) == {"iemocap-text": kept["iemocap-text"]}
    assert design.recorded_datasets(tmp_path / "nowhere", ["mosi"]) == {}


def test_the_design_host_comes_from_the_tables_record_where_its_study_is_not_here(
    tmp_path: Path,
) -> None:
    """A fresh checkout has the table's record but not the studies: the host built from
    the record's parameters is the config the study wrote as its best."""
    import pytest

    from lmam.experiments.tune import run_study
    from lmam.train.config import TrainConfig

    study = tuned.open_side(tmp_path / "here", "mosi", "bclstm", "lmam", trials=1)
    run_study(study, quiet=True)
    written = TrainConfig.load(study.folder / "best.yaml")
    assert design.host(tmp_path / "here", "mosi") == written
    params = json.loads((study.folder / "best.json").read_text())["params"]
    record = tmp_path / "tuned.json"
    row = {"dataset": "mosi", "backbone": "bclstm", "params_with": params}
    record.write_text(json.dumps({"rows": [row]}))
    assert design.host(tmp_path / "elsewhere", "mosi", record) == written
    with pytest.raises(FileNotFoundError, match=r"iemocap-text, and .* keeps no parameters"):
        design.host(tmp_path / "elsewhere", "iemocap-text", record)
    with pytest.raises(FileNotFoundError, match="there is no record"):
        design.host(tmp_path / "elsewhere", "mosi", tmp_path / "absent.json")


def test_a_design_run_without_ablations_keeps_the_recorded_ones(tmp_path: Path) -> None:
    """``--no-ablations`` runs the importance study alone: the dataset's recorded
    ablations are kept and said to be; a dataset with none recorded is an error naming
    the record."""
    import pytest

    (tmp_path / "design").mkdir()
    values = {design.PAPER: [0.6, 0.61, 0.62], "scale=none": [0.59, 0.6, 0.6]}
    row = {"metric": "weighted_f1", "seeds": [0, 1, 2], "values": values, "rows": [1]}
    record = {"datasets": {"meld-text": row, "mosi": {"metric": "mae"}}}
    (tmp_path / "design" / "design.json").write_text(json.dumps(record))
    assert design.recorded_ablations(tmp_path, "meld-text") == {
        **row,
        "ablations_recorded": True,
    }
    with pytest.raises(FileNotFoundError, match=r"design\.json keeps no ablations of mosi"):
        design.recorded_ablations(tmp_path, "mosi")
    with pytest.raises(FileNotFoundError, match="keeps no ablations of meld-text"):
        design.recorded_ablations(tmp_path / "nowhere", "meld-text")
    report = {"datasets": {"meld-text": {**row, "rows": design.rows(values, "weighted_f1")}}}
    report["datasets"]["meld-text"]["ablations_recorded"] = True
    report["decisions"] = []
    assert "(ablations kept from the earlier record)" in design.markdown(report, "x")
