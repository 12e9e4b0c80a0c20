"""Tables II-IV (every backbone with and without LMAM), VI (cost) and VII-VIII (t-tests)."""

from __future__ import annotations

from typing import Any

from lmam.errors import OptionError
from lmam.experiments.grid import mean_std
from lmam.experiments.paper import lookup as published
from lmam.experiments.reproduce.cells import (
    REGRESSION_METRICS,
    Runs,
    cell,
    class_names,
    difference,
    method_label,
    paper_cell,
    plug_variants,
    protocol,
    stat,
    table_title,
    variant_key,
)
from lmam.experiments.reproduce.formatting import pm, pvalue
from lmam.experiments.reproduce.report import Report
from lmam.experiments.reproduce.setting import Setting


# -- Tables II-IV: plug and play ------------------------------------------------------------
def textcnn_note(s: Setting) -> str:
    """What the table's TextCNN rows are: Kim's CNN over the words where the dataset has
    them, else a reading of the utterance vectors."""
    if s.has_words:
        return (
            "TextCNN is the context-free baseline of the ERC papers, here Kim's CNN over "
            "each utterance's words (WordPieces looked up in all-MiniLM-L6-v2's input "
            "embeddings, `over=words`); TextCNN* puts LMAM after it, over the utterances' "
            "CNN vectors (`embed=late`): the words are ids, there is nothing to fuse before "
            "the CNN (docs/backbones/textcnn.md)."
        )
    return (
        "TextCNN is the context-free baseline of the ERC papers. The dataset has no words, "
        "only utterance feature vectors: TextCNN reads each vector as a learned sequence "
        "(`over=projected`, chosen on validation; docs/backbones/textcnn.md)."
    )


def plug_and_play(name: str, s: Setting) -> Report:
    """Tables II-IV: every backbone with and without LMAM (per class, weighted, and delta)."""
    runs = s.run(plug_variants(s))
    family = published.family(s.dataset)
    if s.data.task == "regression":
        return _plug_regression(name, s, runs, family)
    classes = class_names(s)
    header = ["method", "source"]
    for c in classes:
        header += [f"{c} Acc", f"{c} F1"]
    header += ["Acc (w)", "F1 (w)"]
    rows: list[list[str]] = []
    for variant, rs in runs.items():
        per = {c: [r["test"]["per_class"][c] for r in rs] for c in classes}
        row = [method_label(variant), "ours"]
        for c in classes:
            row += [
                pm(mean_std([x["accuracy"] for x in per[c]])),
                pm(mean_std([x["f1"] for x in per[c]])),
            ]
        row += [cell(rs, "accuracy"), cell(rs, "weighted_f1")]
        rows.append(row)
        paper = published.classification(family, *variant_key(variant))
        if paper is not None:
            prow = [method_label(variant), "paper"]
            for c in classes:
                acc, f1 = paper.get(c, (None, None))
                prow += [paper_cell(acc), paper_cell(f1)]
            acc, f1 = paper["weighted"]
            rows.append([*prow, paper_cell(acc), paper_cell(f1)])
        if variant.endswith("-lmam"):
            b = variant[: -len("-lmam")]
            rows.append(_delta_row(runs[b], rs, classes))
    notes = [
        "Per class: accuracy (recall) and F1 in percent, mean ± std over seeds; "
        "(w): weighted average. Δ: ours with LMAM minus without (means). "
        "* = LMAM at early fusion with a residual connection (Fig. 4 (b))"
        + ("; TextCNN*: after the CNN, below. " if s.has_words else ". ")
        + published.note(family)
    ]
    return _plug_report(name, s, runs, header, rows, notes, _plug_figures(s, runs, classes))


def _plug_report(
    name: str,
    s: Setting,
    runs: Runs,
    header: list[str],
    rows: list[list[str]],
    notes: list[str],
    figures: list[Any] | None = None,
) -> Report:
    """Tables II-IV's report: the protocol first and the TextCNN note last around ``notes``."""
    title = f"{table_title(name)}: every backbone with and without LMAM, {s.tag}"
    notes = [protocol(s, runs), *notes, textcnn_note(s)]
    return Report(name, s.tag, title, header, rows, notes, {"runs": runs}, figures or [])


def _delta_row(
    base: list[dict[str, Any]], star: list[dict[str, Any]], classes: list[str]
) -> list[str]:
    def mean(rs: list[dict[str, Any]], c: str, k: str) -> float:
        return sum(r["test"]["per_class"][c][k] for r in rs) / len(rs)

    row = ["Δ", "ours"]
    for c in classes:
        row += [f"{100 * (mean(star, c, k) - mean(base, c, k)):+.2f}" for k in ("accuracy", "f1")]
    for k in ("accuracy", "weighted_f1"):
        row.append(f"{100 * (stat(star, k)[0] - stat(base, k)[0]):+.2f}")
    return row


def _plug_figures(s: Setting, runs: Runs, classes: list[str]) -> list[Any]:
    from lmam.experiments import plots

    s.out_dir.mkdir(parents=True, exist_ok=True)
    bars = {
        method_label(v): {
            c: mean_std([r["test"]["per_class"][c]["f1"] for r in rs]) for c in classes
        }
        for v, rs in runs.items()
        if v in ("emocaps", "emocaps-lmam", "bclstm", "bclstm-lmam")
    }
    out = []
    path = s.out_dir / "per_class_f1.png"
    plots.per_class_bars(
        bars, path, f"Per-class test F1, {s.tag}", f"F1 (mean ± std over {len(s.seeds)} seeds)"
    )
    out.append(path)
    for v in ("emocaps", "emocaps-lmam"):
        matrix = runs[v][0]["test"]["confusion_matrix"]
        path = s.out_dir / f"confusion_{v}.png"
        plots.confusion(matrix, classes, path, f"{method_label(v)}, {s.tag}, seed {s.seeds[0]}")
        out.append(path)
    return out


def _plug_regression(name: str, s: Setting, runs: Runs, family: str | None) -> Report:
    metrics = REGRESSION_METRICS.get(family or "", ["mae", "pearson_r"])
    header = ["method", "source", *metrics]
    rows = []
    for variant, rs in runs.items():
        rows.append([method_label(variant), "ours", *[cell(rs, m) for m in metrics]])
        paper = published.regression(family, *variant_key(variant))
        if paper is not None:
            rows.append(
                [method_label(variant), "paper", *[paper_cell(paper.get(m)) for m in metrics]]
            )
        if variant.endswith("-lmam"):
            b = variant[: -len("-lmam")]
            rows.append(
                [
                    "Δ",
                    "ours",
                    *[difference(rs, runs[b], m) for m in metrics],
                ]
            )
    notes = [
        "Acc-2, F1 and Acc-7 in percent; MAE and Pearson r of the predicted scores.",
        published.note(family),
    ]
    return _plug_report(name, s, runs, header, rows, notes)


# -- Table VI: parameters and time ---------------------------------------------------------
def cost(name: str, s: Setting) -> Report:
    """Table VI: parameters and seconds per epoch, every backbone with and without LMAM.

    Two times: each run's own (as trained, with whatever else shared the machine)
    and one epoch of every variant timed side by side now (fair ratios)."""
    variants = plug_variants(s)
    runs = s.run(variants)
    s.console.print(f"timing one epoch of {len(variants)} models side by side")
    now = s.epoch_seconds(variants)
    family = published.family(s.dataset)
    header = [
        "method",
        "parameters",
        "s / epoch, runs",
        "s / epoch, side by side",
        "× base",
        "paper parameters",
        "paper s / epoch",
        "paper × base",
    ]
    rows = []
    for variant, rs in runs.items():
        sec = mean_std([r["seconds_per_epoch"] for r in rs])
        b = variant.partition("-")[0]
        paper = published.cost(family, *variant_key(variant))
        paper_base = published.cost(family, b, "base")
        rows.append(
            [
                method_label(variant),
                f"{rs[0]['parameters']:,}",
                f"{sec[0]:.2f} ± {sec[1]:.2f}",
                f"{now[variant]:.2f}",
                f"{now[variant] / now[b]:.2f}",
                f"{paper[0]:.2f} M" if paper else "–",
                f"{paper[1]:.2f}" if paper else "–",
                f"{paper[1] / paper_base[1]:.2f}" if paper and paper_base else "–",
            ]
        )
    return Report(
        name,
        s.tag,
        f"Table VI: parameters and seconds per training epoch, {s.tag}",
        header,
        rows,
        [
            protocol(s, runs),
            "Seconds per epoch of training on this machine's CPU, one thread. *Runs*: as "
            "each run recorded it, mean ± std over seeds (runs trained while other jobs "
            "shared the machine are slower, so these are indicative only). *Side by side*: "
            f"one epoch of every model trained in turn in one process, the median of "
            f"{s.timing_rounds} rounds (seed {s.seeds[0]}), so that the "
            "machine's load hits all of them alike; × base is the ratio of these. "
            "The paper's times are on an RTX 3090. " + published.note(family),
        ],
        {"runs": runs, "side_by_side_seconds": now},
    )


# -- Tables VII-VIII: paired t-tests -------------------------------------------------------
def significance(name: str, s: Setting) -> Report:
    """Tables VII-VIII: per class, a paired t-test of test F1 over seeds, backbone vs backbone*."""
    from lmam.experiments.stats import paired_ttest_per_class

    if len(s.seeds) < 2:
        raise OptionError(f"seeds {len(s.seeds)}: a paired t-test needs at least 2")
    classes = class_names(s)
    runs = s.run(plug_variants(s))
    family = published.family(s.dataset)
    header = ["method", "source", *classes]
    rows = []
    tests = {}
    for variant in runs:
        if variant.endswith("-lmam"):
            continue
        b = variant.partition("-")[0]
        t = paired_ttest_per_class(runs[f"{b}-lmam"], runs[variant], "f1")
        tests[variant] = t
        cells = [f"{pvalue(t[c]['p'])} ({100 * t[c]['mean_difference']:+.1f})" for c in classes]
        rows.append([method_label(variant), "ours", *cells])
        paper = published.pvalues(family, *variant_key(variant))
        if paper is not None:
            rows.append([method_label(variant), "paper", *[pvalue(paper.get(c)) for c in classes]])
    return Report(
        name,
        s.tag,
        f"{table_title(name)}: paired t-tests per class, {s.tag}",
        header,
        rows,
        [
            protocol(s, runs),
            "p-value of a paired t-test (SciPy `ttest_rel`, two-sided) of the test F1 of each "
            "class over the seeds, the backbone with LMAM against the row's method (bc-LSTM+Att "
            "against bc-LSTM*); in brackets the mean F1 difference (LMAM minus the row's "
            "method, points). n/a: no variation across seeds. " + published.note(family),
        ],
        {"runs": runs, "ttests": tests},
    )
