"""Rows of the reproduced tables: cells from runs (mean ± std over seeds) and the paper's."""

from __future__ import annotations

from typing import Any

from lmam.errors import OptionError
from lmam.experiments.grid import mean_std
from lmam.experiments.paper import lookup as published
from lmam.experiments.reproduce import variants as V
from lmam.experiments.reproduce.formatting import pm
from lmam.experiments.reproduce.setting import Setting

Runs = dict[str, list[dict[str, Any]]]

REGRESSION_METRICS = {
    "mosi": ["acc2", "f1", "mae", "pearson_r", "acc7"],
    "pom": ["mae", "pearson_r"],
}
"""Table IV's columns per dataset (POM's Acc is not defined for its 17 trait scores here)."""

PERCENT = {"accuracy", "weighted_f1", "acc2", "f1", "acc7"}


def stat(runs: list[dict[str, Any]], metric: str) -> tuple[float, float]:
    return mean_std([r["test"][metric] for r in runs])


def cell(runs: list[dict[str, Any]], metric: str) -> str:
    scale = 100.0 if metric in PERCENT else 1.0
    return pm(stat(runs, metric), scale, 2 if metric in PERCENT else 3)


def paper_cell(value: float | None) -> str:
    """A number of the paper, as it prints them (two decimals)."""
    return "–" if value is None else f"{value:.2f}"


def pair(
    label: str, runs: list[dict[str, Any]], metrics: list[str], paper: tuple[float, ...] | None
) -> list[list[str]]:
    """Our row (mean ± std over seeds) and, when the paper has it, the paper's row below it."""
    rows = [[label, "ours", *[cell(runs, m) for m in metrics]]]
    if paper is not None:
        rows.append([label, "paper", *[paper_cell(x) for x in paper]])
    return rows


def protocol(s: Setting, runs: Runs) -> str:
    first = next(iter(runs.values()))[0]
    epochs = first.get("epochs_run")
    return (
        f"Dataset `{s.dataset}`, {len(s.seeds)} seeds ({', '.join(map(str, s.seeds))}), "
        f"test set; model selection: {first['selection']}; {epochs} epochs run"
        + (" (--quick: a smoke test, not a result)" if s.quick else "")
        + ". Runs in `"
        + str(s.runs_dir)
        + "`"
        + (f", their records (metrics, no weights) in `{s.records}`." if s.records else ".")
    )


def class_names(s: Setting) -> list[str]:
    if s.data.task != "classification":
        raise OptionError(
            f"this table needs a classification dataset; {s.dataset!r} is a regression task"
        )
    return list(s.data.label_names)


def plug_variants(s: Setting) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for b in V.backbones():
        out[b] = V.base(b)
        if b == "bclstm":
            out["bclstm-att"] = V.attention()
        out[f"{b}-lmam"] = V.star(b)
    if s.has_words:  # Kim's own reading where the words exist
        out["textcnn"], out["textcnn-lmam"] = V.words(), V.words(lmam=True)
    return out


def method_label(name: str) -> str:
    b, _, rest = name.partition("-")
    return (V.label(b) if b in V.backbones() else b) + {"": "", "lmam": "*", "att": "+Att"}.get(
        rest, f" ({rest})"
    )


def variant_key(name: str) -> tuple[str, str]:
    b, _, rest = name.partition("-")
    return b, {"": "base", "lmam": "lmam", "att": "att", "wide": "widened"}.get(rest, rest)


def difference(star: list[dict[str, Any]], base: list[dict[str, Any]], metric: str) -> str:
    """The Δ cell: mean of ``star`` minus mean of ``base`` (points for percentages)."""
    d = stat(star, metric)[0] - stat(base, metric)[0]
    return f"{100 * d:+.2f}" if metric in PERCENT else f"{d:+.3f}"


def main_metrics(s: Setting) -> list[str]:
    if s.data.task == "regression":
        return REGRESSION_METRICS.get(published.family(s.dataset) or "", ["mae", "pearson_r"])
    return ["accuracy", "weighted_f1"]


def table_title(name: str) -> str:
    roman = {"table2": "II", "table3": "III", "table4": "IV", "table7": "VII", "table8": "VIII"}
    return f"Table {roman.get(name, name)}"
