"""Per-class statistics of finished runs: per-class scores, paired t-tests, Δ rows.

A *summary* is a run's ``summary.json`` as a dict; its ``valid`` and ``test``
entries are *metric dicts*: ``accuracy``, ``weighted_f1``, ``macro_f1`` and
``per_class: {class: {"accuracy", "f1", "support"}}`` (classification).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lmam.errors import OptionError
from lmam.outputs import json_safe

CLASS_METRICS = ("accuracy", "f1")
"""The per-class scores of a summary's ``per_class`` entries."""
AVERAGES = ("accuracy", "weighted_f1", "macro_f1")
"""The whole-split scores that a Δ row compares besides the classes."""


def per_class(summary: dict[str, Any], split: str = "test") -> dict[str, dict[str, float]]:
    """The per-class scores of one run.

    Args:
        summary: a run's ``summary.json``.
        split: ``"test"`` or ``"valid"``.

    Returns:
        ``{class: {"accuracy": float, "f1": float}}`` in the summary's class order.

    Raises:
        OptionError: the summary has no such split, or no per-class scores
            (a regression run).
    """
    if split not in summary:
        raise OptionError(f"the summary has no {split!r} split; it has valid and test")
    scores = summary[split].get("per_class")
    if not scores:
        raise OptionError(f"the {split} metrics have no per-class scores (a regression run?)")
    return {c: {m: float(v[m]) for m in CLASS_METRICS} for c, v in scores.items()}


def paired_ttest_per_class(
    a: list[dict[str, Any]],
    b: list[dict[str, Any]],
    metric: str = "f1",
    split: str = "test",
) -> dict[str, dict[str, float]]:
    """A paired t-test (SciPy's ``ttest_rel``) of each class's score, over seeds.

    Runs are paired by position: ``a[i]`` and ``b[i]`` must share a seed.

    Args:
        a, b: summaries of two configurations, one per seed, in the same seed order.
        metric: the per-class score, ``"f1"`` or ``"accuracy"``.
        split: ``"test"`` or ``"valid"``.

    Returns:
        ``{class: {"mean_a", "mean_b", "mean_difference" (a minus b), "t", "p",
        "seeds"}}``. Where a class's differences are all equal, ``t`` and ``p``
        are :func:`paired_ttest`'s: nan if they are all 0, else ``t`` is infinite;
        :func:`json_safe` turns both into ``None`` for JSON.

    Raises:
        OptionError: different seed counts, fewer than two seeds, another
            metric, or classes that differ between the runs.
    """
    if metric not in CLASS_METRICS:
        raise OptionError(
            f"per-class metric must be one of {', '.join(CLASS_METRICS)}, got {metric!r}"
        )
    if len(a) != len(b):
        raise OptionError(
            f"a paired t-test needs the same seeds on both sides, got {len(a)} and {len(b)} runs"
        )
    if len(a) < 2:
        raise OptionError(f"a paired t-test needs at least 2 seeds, got {len(a)}")
    xs = [per_class(s, split) for s in a]
    ys = [per_class(s, split) for s in b]
    classes = list(xs[0])
    for scores in xs + ys:
        if list(scores) != classes:
            raise OptionError(
                f"the runs have different classes: {', '.join(classes)} and {', '.join(scores)}"
            )
    out: dict[str, dict[str, float]] = {}
    for c in classes:
        x = np.array([s[c][metric] for s in xs])
        y = np.array([s[c][metric] for s in ys])
        t, p = paired_ttest(x, y)
        out[c] = {
            "mean_a": float(x.mean()),
            "mean_b": float(y.mean()),
            "mean_difference": float(x.mean() - y.mean()),
            "t": t,
            "p": p,
            "seeds": len(x),
        }
    return out


def paired_ttest(x: Any, y: Any) -> tuple[float, float]:
    """SciPy's paired t-test ``(t, p)`` of ``x`` against ``y`` (paired by position).

    Differences that are all equal make the test degenerate. SciPy answers that
    case exactly only when the floats are exactly equal; differences equal up to
    rounding (e.g. two runs that differ by the same 6 utterances on every seed)
    would give an astronomic ``t`` and a ``p`` near 0. Here any differences
    whose spread is within rounding (1e-9 of their size) get SciPy's exact
    answer: ``(nan, nan)`` if they are 0, else ``(±inf, 0.0)``.
    """
    from scipy import stats

    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    d = a - b
    if len(d) and float(np.ptp(d)) <= 1e-9 * max(1.0, float(np.abs(d).max())):
        mean = float(d.mean())
        if abs(mean) <= 1e-12:
            return math.nan, math.nan
        return math.copysign(math.inf, mean), 0.0
    test = stats.ttest_rel(a, b)
    return float(test.statistic), float(test.pvalue)


def mean_metrics(summaries: list[dict[str, Any]], split: str = "test") -> dict[str, Any]:
    """The mean over seeds of a split's metric dicts (classification).

    Returns:
        A metric dict as in a summary: ``accuracy``, ``weighted_f1``,
        ``macro_f1`` (those present in every run) and
        ``per_class: {class: {"accuracy", "f1"}}``, each a mean over runs.
    """
    if not summaries:
        raise OptionError("no runs to average")
    splits = [s[split] for s in summaries]
    out: dict[str, Any] = {
        m: float(np.mean([d[m] for d in splits])) for m in AVERAGES if all(m in d for d in splits)
    }
    scores = [per_class(s, split) for s in summaries]
    out["per_class"] = {
        c: {m: float(np.mean([s[c][m] for s in scores])) for m in CLASS_METRICS} for c in scores[0]
    }
    return out


def delta_row(base: dict[str, Any], star: dict[str, Any]) -> dict[str, Any]:
    """The Δ row of the paper's tables: ``star`` minus ``base``.

    Args:
        base, star: metric dicts (a summary's ``test``, or :func:`mean_metrics`
            of several seeds), ``star`` being the backbone with LMAM.

    Returns:
        ``{"per_class": {class: {"accuracy": Δ, "f1": Δ}}, "accuracy": Δ,
        "weighted_f1": Δ, "macro_f1": Δ}`` for the classes and averages both
        have (fractions, as the metrics are: 0.012 is 1.2 points).
    """
    out: dict[str, Any] = {
        "per_class": {
            c: {m: float(star["per_class"][c][m]) - float(v[m]) for m in CLASS_METRICS}
            for c, v in base.get("per_class", {}).items()
            if c in star.get("per_class", {})
        }
    }
    for m in AVERAGES:
        if m in base and m in star:
            out[m] = float(star[m]) - float(base[m])
    return out


__all__ = [
    "delta_row",
    "json_safe",
    "mean_metrics",
    "paired_ttest",
    "paired_ttest_per_class",
    "per_class",
]
