"""The results page: its summary of LMAM per backbone, and the other tasks' tables on it."""

from __future__ import annotations

import json
from pathlib import Path

from scipy import stats

from lmam.experiments.paper import lookup as published
from lmam.experiments.reproduce.report import write_index
from lmam.experiments.reproduce.summary import glance
from lmam.experiments.reproduce.tables import TABLES


def runs(name: str, scores: dict[int, float], metric: str) -> list[dict]:
    return [{"run_dir": f"runs/x/{name}-s{s}", "test": {metric: v}} for s, v in scores.items()]


def write_table(out: Path, table: str, dataset: str, payload_runs: dict) -> None:
    folder = out / table / dataset
    folder.mkdir(parents=True)
    (folder / f"{table}.json").write_text(json.dumps({"dataset": dataset, "runs": payload_runs}))
    (folder / f"{table}.md").write_text(f"## {table} on {dataset}\n\n| a |\n|---|\n| 1 |\n")


def row(lines: list[str], dataset: str, backbone: str) -> list[str]:
    line = next(x for x in lines if x.startswith(f"| {dataset} | {backbone} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_glance_pairs_runs_by_seed_and_tests_them_with_scipy(tmp_path: Path) -> None:
    base = {0: 0.60, 1: 0.62, 2: 0.58}
    star = {2: 0.60, 0: 0.61, 1: 0.65}  # another order: pairs are made by seed
    write_table(
        tmp_path,
        "table3",
        "meld-text",
        {
            "emocaps": runs("emocaps", base, "weighted_f1"),
            "emocaps-lmam": runs("emocaps-lmam", star, "weighted_f1"),
            "bclstm": runs("bclstm", {0: 0.5, 1: 0.5}, "weighted_f1"),  # no LMAM run: no row
        },
    )
    lines = glance(tmp_path)
    cells = row(lines, "meld-text", "EmoCaps")
    seeds = [0, 1, 2]
    p = stats.ttest_rel([star[s] for s in seeds], [base[s] for s in seeds]).pvalue
    delta = 100 * (sum(star.values()) - sum(base.values())) / 3
    paper = published.classification("meld", "emocaps", "lmam")
    paper_base = published.classification("meld", "emocaps", "base")
    assert paper is not None and paper_base is not None
    assert cells[2:] == [
        "60.00",
        "62.00",
        f"{delta:+.2f}",
        f"{p:.1e}",
        f"{paper['weighted'][1] - paper_base['weighted'][1]:+.2f}",
        "3",
    ]
    assert not any(x.startswith("| meld-text | bc-LSTM |") for x in lines)
    assert "- meld-text (weighted_f1): LMAM ahead on average for 1 of 1 backbones, " in "\n".join(
        lines
    )


def test_glance_counts_lower_mae_as_better(tmp_path: Path) -> None:
    write_table(
        tmp_path,
        "table4",
        "pom",
        {
            "bclstm": runs("bclstm", {0: 1.0, 1: 1.1, 2: 1.2}, "mae"),
            "bclstm-lmam": runs("bclstm-lmam", {0: 0.9, 1: 1.02, 2: 1.09}, "mae"),
        },
    )
    lines = glance(tmp_path)
    assert row(lines, "pom", "bc-LSTM")[2:5] == ["1.100", "1.003", "-0.097"]
    text = "\n".join(lines)
    assert "pom (mae): LMAM ahead on average for 1 of 1 backbones, 1 of them with p < 0.05" in text


def test_results_page_puts_the_summary_first_and_keeps_other_tasks_commands(
    tmp_path: Path,
) -> None:
    assert glance(tmp_path) == []  # nothing made yet: no summary
    write_table(
        tmp_path,
        "table2",
        "iemocap-text",
        {
            "m2fnet": runs("m2fnet", {0: 0.5, 1: 0.6}, "weighted_f1"),
            "m2fnet-lmam": runs("m2fnet-lmam", {0: 0.55, 1: 0.62}, "weighted_f1"),
        },
    )
    folder = tmp_path / "table13" / "diginetica-sub100"
    folder.mkdir(parents=True)
    (folder / "table13.md").write_text("## Table XIII\n\nCommand: `lmam session table13`.\n")
    (tmp_path / "notes.md").write_text("## What the tables say\n\nWritten by hand.\n")
    page = write_index(tmp_path, list(TABLES)).read_text()
    assert page.index("Written by hand.") < page.index("## At a glance")  # kept, never lost
    assert (tmp_path / "notes.md").read_text().endswith("Written by hand.\n")
    assert page.index("## At a glance") < page.index("### table2") < page.index("### Table XIII")
    assert "Made by `lmam reproduce table2 --dataset iemocap-text`." in page
    assert "lmam reproduce table13" not in page and "Command: `lmam session table13`" in page


def test_one_seed_gives_no_p_value(tmp_path: Path) -> None:
    write_table(
        tmp_path,
        "table2",
        "iemocap-text",
        {
            "emocaps": runs("emocaps", {0: 0.5}, "weighted_f1"),
            "emocaps-lmam": runs("emocaps-lmam", {0: 0.6}, "weighted_f1"),
        },
    )
    assert row(glance(tmp_path), "iemocap-text", "EmoCaps")[4:6] == ["+10.00", "n/a"]


def test_claims_of_tables_v_ix_xi(tmp_path: Path) -> None:
    def f1(name: str, scores: dict[int, float]) -> list[dict]:
        return runs(name, scores, "weighted_f1")

    write_table(
        tmp_path,
        "table5",
        "iemocap-text",
        {
            "m2fnet-wide": f1("m2fnet-wide", {0: 0.5, 1: 0.6}),
            "m2fnet-lmam": f1("x", {0: 0.6, 1: 0.6}),
        },
    )
    write_table(
        tmp_path,
        "table9",
        "iemocap-text",
        {
            "emocaps-slot-tfn": f1("tfn", {0: 0.55, 1: 0.57}),
            "emocaps-slot-add": f1("add", {0: 0.62, 1: 0.64}),  # the best other fusion
            "emocaps-slot-lmam": f1("slot-lmam", {0: 0.9, 1: 0.9}),  # LMAM's own: left out
            "emocaps-lmam": f1("emocaps-lmam", {0: 0.60, 1: 0.61}),
        },
    )
    write_table(
        tmp_path,
        "table11",
        "iemocap-text",
        {
            "bclstm-lmam-early": f1("e", {0: 0.5, 1: 0.5}),
            "bclstm-lmam": f1("r", {0: 0.52, 1: 0.53}),
        },
    )
    lines = glance(tmp_path)
    assert row(lines, "iemocap-text", "V: M2FNet* vs widened (◇)")[2:5] == [
        "55.00",
        "60.00",
        "+5.00",
    ]
    ix = row(lines, "iemocap-text", "IX: EmoCaps* vs the best other fusion (add); rank 2 of 3")
    paper = published.fusion("iemocap", "emocaps-lmam")
    paper_add = published.fusion("iemocap", "add")
    assert paper is not None and paper_add is not None
    assert ix[2:5] == ["63.00", "60.50", "-2.50"] and ix[6] == f"{paper[1] - paper_add[1]:+.2f}"
    xi = row(lines, "iemocap-text", "XI: bc-LSTM*, with vs without the residual")
    assert xi[2:5] == ["50.00", "52.50", "+2.50"]
    assert not any(x.startswith("| iemocap-text | TextCNN") for x in lines)  # no Table II here
