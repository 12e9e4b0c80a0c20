"""The results page's summary: LMAM's effect on every backbone, with a paired t-test.

Read from the JSON that Tables II-IV wrote (every run's test metrics), so the
summary always agrees with the tables below it on the results page.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lmam.experiments.paper import lookup as published
from lmam.experiments.reproduce.cells import PERCENT, method_label, stat
from lmam.experiments.reproduce.formatting import markdown_table, pvalue
from lmam.experiments.reproduce.variants import backbones
from lmam.experiments.stats import paired_ttest

PLUG_TABLES = ("table2", "table3", "table4")
"""The tables whose runs give the summary (every backbone with and without LMAM)."""

HEADLINE = {"mosi": "acc2", "pom": "mae"}
"""The one metric summarised per paper dataset; weighted F1 where not listed."""

LOWER_IS_BETTER = {"mae"}


def reports(out: Path, name: str) -> list[dict[str, Any]]:
    """The JSON of table ``name`` for every dataset made under ``out``."""
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(out.glob(f"{name}/*/{name}.json"))
    ]


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


def compare(
    dataset: str,
    label: str,
    other: list[dict[str, Any]],
    lmam: list[dict[str, Any]],
    metric: str,
    paper: float | None,
) -> tuple[list[str], float, float]:
    """One summary row, LMAM's runs against ``other``'s paired by seed; and (Δ, p),
    Δ signed so that positive is better for LMAM."""
    a, b = by_seed(lmam, metric), by_seed(other, metric)
    seeds = sorted(set(a) & set(b), key=int)
    x, y = [a[k] for k in seeds], [b[k] for k in seeds]
    d = sum(x) / len(x) - sum(y) / len(y)
    p = paired_ttest(x, y)[1] if len(seeds) > 1 else math.nan
    scale, digits = (100.0, 2) if metric in PERCENT else (1.0, 3)
    row = [
        dataset,
        label,
        f"{scale * sum(y) / len(y):.{digits}f}",
        f"{scale * sum(x) / len(x):.{digits}f}",
        f"{scale * d:+.{digits}f}",
        pvalue(p),
        "–" if paper is None else f"{paper:+.{digits}f}",
        str(len(seeds)),
    ]
    return row, (-d if metric in LOWER_IS_BETTER else d), p


def dataset_rows(report: dict[str, Any]) -> tuple[list[list[str]], tuple[int, int, int]]:
    """Tables II-IV: one row per backbone, and (backbones, LMAM ahead, of those p < 0.05)."""
    fam = published.family(report["dataset"])
    metric = headline(fam)
    rows, better, significant = [], 0, 0
    runs = report["runs"]
    for b in backbones():
        if b not in runs or f"{b}-lmam" not in runs:
            continue
        paper = paper_delta(fam, b, metric)
        row, d, p = compare(
            report["dataset"], method_label(b), runs[b], runs[f"{b}-lmam"], metric, paper
        )
        rows.append(row)
        if d > 0:
            better += 1
            significant += int(p < 0.05)
    return rows, (len(rows), better, significant)


def paper_f1(pair: tuple[float, ...] | None) -> float | None:
    return None if pair is None else pair[-1]


def claim_rows(out: Path) -> list[list[str]]:
    """Tables V, IX and XI (weighted F1): LMAM against the widened backbone, against
    the best other fusion in EmoCaps' slot, and with against without the residual."""
    rows: list[list[str]] = []
    for report in reports(out, "table5"):
        fam, runs = published.family(report["dataset"]), report["runs"]
        for b in backbones():
            if f"{b}-wide" in runs and f"{b}-lmam" in runs:
                star = published.classification(fam, b, "lmam")
                wide = paper_f1(published.widened(fam, b, "widened"))
                paper = None if star is None or wide is None else star["weighted"][1] - wide
                label = f"V: {method_label(b)}* vs widened (◇)"
                rows.append(
                    compare(
                        report["dataset"],
                        label,
                        runs[f"{b}-wide"],
                        runs[f"{b}-lmam"],
                        "weighted_f1",
                        paper,
                    )[0]
                )
    for report in reports(out, "table9"):
        fam, runs = published.family(report["dataset"]), report["runs"]
        if "emocaps-lmam" not in runs:
            continue
        others = {
            k: v
            for k, v in runs.items()
            if k != "emocaps-lmam" and not k.startswith("emocaps-slot-lmam")
        }
        if not others:
            continue
        best = max(others, key=lambda k: stat(others[k], "weighted_f1")[0])
        fusion = best.removeprefix("emocaps-slot-")
        ours, theirs = (
            paper_f1(published.fusion(fam, "emocaps-lmam")),
            paper_f1(published.fusion(fam, fusion)),
        )
        lmam_f1 = stat(runs["emocaps-lmam"], "weighted_f1")[0]
        rank = 1 + sum(stat(v, "weighted_f1")[0] > lmam_f1 for v in others.values())
        label = (
            f"IX: EmoCaps* vs the best other fusion ({fusion}); rank {rank} of {len(others) + 1}"
        )
        paper = None if ours is None or theirs is None else ours - theirs
        rows.append(
            compare(
                report["dataset"], label, runs[best], runs["emocaps-lmam"], "weighted_f1", paper
            )[0]
        )
    for report in reports(out, "table11"):
        fam, runs = published.family(report["dataset"]), report["runs"]
        for b in backbones():
            if f"{b}-lmam-early" in runs and f"{b}-lmam" in runs:
                res = paper_f1(published.embedding(fam, b, True))
                plain = paper_f1(published.embedding(fam, b, False))
                paper = None if res is None or plain is None else res - plain
                label = f"XI: {method_label(b)}*, with vs without the residual"
                rows.append(
                    compare(
                        report["dataset"],
                        label,
                        runs[f"{b}-lmam-early"],
                        runs[f"{b}-lmam"],
                        "weighted_f1",
                        paper,
                    )[0]
                )
    return rows


def _section(
    intro: str, header: list[str], rows: list[list[str]], after: list[str] | None = None
) -> list[str]:
    """Markdown lines: a paragraph, its table, then ``after`` (each section ends blank)."""
    return [intro, "", *markdown_table(header, rows), "", *([*after, ""] if after else [])]


def glance(out: Path) -> list[str]:
    """Markdown lines: the summary of Tables II-V, IX and XI as found under ``out``."""
    rows: list[list[str]] = []
    counts: list[str] = []
    for name in PLUG_TABLES:
        for report in reports(out, name):
            dataset_part, (n, better, significant) = dataset_rows(report)
            if not dataset_part:
                continue
            rows += dataset_part
            metric = headline(published.family(report["dataset"]))
            counts.append(
                f"{report['dataset']} ({metric}): LMAM ahead on average for {better} of {n} "
                f"backbones, {significant} of them with p < 0.05"
            )
    claims = claim_rows(out)
    if not rows and not claims:
        return []
    lines = ["## At a glance: LMAM in every backbone", ""]
    tail = ["Δ", "p", "Δ paper", "seeds"]
    if rows:
        lines += _section(
            "The test metric of each backbone without and with LMAM (early fusion with a "
            "residual, the tables' *; TextCNN over words: after the CNN), mean over seeds; "
            "Δ is with minus without, p a paired "
            "t-test (SciPy `ttest_rel`) over the seeds, and Δ paper the paper's difference "
            "for the same backbone on its data. The metric is weighted F1 (%) for IEMOCAP "
            "and MELD, Acc-2 (%) for CMU-MOSI and MAE for POM (lower is better). From the "
            "tables below; each table's notes say how its data differ from the paper's, and "
            "which reading their TextCNN has (Kim's CNN over the words where the dataset has "
            "them, a learned sequence of each utterance vector elsewhere).",
            ["dataset", "backbone", "without", "with LMAM (*)", *tail],
            rows,
            [f"- {c}." for c in counts],
        )
    if claims:
        lines += _section(
            "The paper's other claims, in weighted F1 (%), the same way: LMAM against the "
            "backbone widened to as many parameters (Table V), EmoCaps* against the best of "
            "the other fusions in EmoCaps' fusion slot on this test set, and its rank among "
            "them, LMAM's own slot rows left out (Table IX), and LMAM with against without "
            "the residual connection (Table XI).",
            ["dataset", "comparison", "other", "LMAM", *tail],
            claims,
        )
    return lines
