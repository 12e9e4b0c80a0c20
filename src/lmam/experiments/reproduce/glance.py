"""The results page's summary: LMAM's effect on every backbone, with a paired t-test.

Read from the JSON that Tables II-IV wrote (every run's test metrics), so the
summary always agrees with the tables below it on the results page.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lmam.experiments.reproduce import published
from lmam.experiments.reproduce.cells import PERCENT, method_label
from lmam.experiments.reproduce.report import markdown_table, pvalue
from lmam.experiments.reproduce.variants import BACKBONES
from lmam.experiments.stats import paired_ttest

PLUG_TABLES = ("table2", "table3", "table4")
"""The tables whose runs give the summary (every backbone with and without LMAM)."""

HEADLINE = {"mosi": "acc2", "pom": "mae"}
"""The one metric summarised per paper dataset; weighted F1 where not listed."""

LOWER_IS_BETTER = {"mae"}


def headline(fam: str | None) -> str:
    return HEADLINE.get(fam or "", "weighted_f1")


def by_seed(runs: list[dict[str, Any]], metric: str) -> dict[str, float]:
    """``{seed: test metric}``, the seed read from the run folder's ``-sN`` suffix."""
    return {Path(r["run_dir"]).name.rpartition("-s")[2]: r["test"][metric] for r in runs}


def paper_delta(fam: str | None, backbone: str, metric: str) -> float | None:
    """The paper's LMAM-minus-backbone difference for ``metric`` (None: no such row)."""
    if fam in ("iemocap", "meld"):
        base = published.classification(fam, backbone, "base")
        star = published.classification(fam, backbone, "lmam")
        if base is None or star is None:
            return None
        return star["weighted"][1] - base["weighted"][1]
    base_r = published.regression(fam, backbone, "base")
    star_r = published.regression(fam, backbone, "lmam")
    if not base_r or not star_r or metric not in base_r or metric not in star_r:
        return None
    return star_r[metric] - base_r[metric]


def dataset_rows(report: dict[str, Any]) -> tuple[list[list[str]], tuple[int, int, int]]:
    """One row per backbone, and (backbones, LMAM better on average, of those p < 0.05)."""
    fam = published.family(report["dataset"])
    metric = headline(fam)
    scale = 100.0 if metric in PERCENT else 1.0
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    rows, better, significant = [], 0, 0
    runs = report["runs"]
    for b in BACKBONES:
        if b not in runs or f"{b}-lmam" not in runs:
            continue
        base, star = by_seed(runs[b], metric), by_seed(runs[f"{b}-lmam"], metric)
        seeds = sorted(set(base) & set(star), key=int)
        x = [star[s] for s in seeds]
        y = [base[s] for s in seeds]
        d = sum(x) / len(x) - sum(y) / len(y)
        p = paired_ttest(x, y)[1] if len(seeds) > 1 else math.nan
        if sign * d > 0:
            better += 1
            significant += int(p < 0.05)
        paper = paper_delta(fam, b, metric)
        digits = 2 if scale == 100.0 else 3
        rows.append(
            [
                report["dataset"],
                method_label(b),
                f"{scale * sum(y) / len(y):.{digits}f}",
                f"{scale * sum(x) / len(x):.{digits}f}",
                f"{scale * d:+.{digits}f}",
                pvalue(p),
                "–" if paper is None else f"{paper:+.{digits}f}",
                str(len(seeds)),
            ]
        )
    return rows, (len(rows), better, significant)


def glance(out: Path) -> list[str]:
    """Markdown lines: the summary of every plug-and-play table found under ``out``."""
    rows: list[list[str]] = []
    counts: list[str] = []
    for name in PLUG_TABLES:
        for path in sorted((out / name).glob(f"*/{name}.json")):
            report = json.loads(path.read_text(encoding="utf-8"))
            dataset_part, (n, better, significant) = dataset_rows(report)
            if not dataset_part:
                continue
            rows += dataset_part
            metric = headline(published.family(report["dataset"]))
            counts.append(
                f"{report['dataset']} ({metric}): LMAM ahead on average for {better} of {n} "
                f"backbones, {significant} of them with p < 0.05"
            )
    if not rows:
        return []
    header = ["dataset", "backbone", "without", "with LMAM (*)", "Δ", "p", "Δ paper", "seeds"]
    return [
        "## At a glance: LMAM in every backbone",
        "",
        "The test metric of each backbone without and with LMAM (early fusion with a "
        "residual, the tables' *), mean over seeds; Δ is with minus without, p a paired "
        "t-test (SciPy `ttest_rel`) over the seeds, and Δ paper the paper's difference "
        "for the same backbone on its data. The metric is weighted F1 (%) "
        "for IEMOCAP and MELD, Acc-2 (%) for CMU-MOSI and MAE for POM (lower is better). "
        "From the tables below; each table's notes say how its data differ from the "
        "paper's. TextCNN's large gains are mostly LMAM's projection mixing the "
        "dimensions of dense utterance vectors, which TextCNN's max-pooling cannot do "
        "(Table II's note).",
        "",
        *markdown_table(header, rows),
        "",
        *[f"- {c}." for c in counts],
        "",
    ]
