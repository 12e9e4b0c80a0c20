"""Comparisons over seeds: bc-LSTM variants (plug-and-play) and every fusion.

Each run is trained once; besides its own selection (the dataset's protocol
or validation), the figure that ``--select test`` would give is read from the
same run's per-epoch test metrics (training does not depend on the selection),
and is labelled as such.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from lmam import list_fusions
from lmam.experiments import stats
from lmam.experiments.grid import mean_std, print_rows, run_grid, save_rows, summarise
from lmam.train.build import load_dataset, portable
from lmam.train.config import TrainConfig
from lmam.train.engine import TEST_SELECTION_LABEL

BCLSTM_VARIANTS: dict[str, dict[str, Any]] = {
    "bclstm": {"fusion": "concat", "embed": "early"},
    "bclstm-att": {"fusion": "concat", "embed": "early", "model_options": {"attention": True}},
    "bclstm-lmam-early_residual": {
        "fusion": "lmam",
        "embed": "early_residual",
        "fusion_options": {"rank": 45},
    },
    "bclstm-lmam-late": {"fusion": "lmam", "embed": "late", "fusion_options": {"rank": 45}},
}


CIMA_VARIANTS: dict[str, dict[str, Any]] = {
    "mmmu_ba": {},
    "concat": {"fusion": "concat", "fusion_dim": 300},
    "lmam": {"fusion": "lmam", "fusion_dim": None},
    "text-only": {"fusion": "concat", "fusion_dim": 100, "modalities": ["text"]},
}
"""The ``cima`` recipe with its own fusion (MMMU-BA), concatenation, LMAM (its
default options) and text alone; everything else as the recipe says."""


def variant_ttest(
    results: dict[str, list[dict[str, Any]]], a: str, b: str, metric: str
) -> dict[str, Any]:
    """Paired t-test (:func:`lmam.experiments.stats.paired_ttest`) of the test
    ``metric`` of variants ``a`` and ``b`` over seeds; ``t`` and ``p`` are
    ``None`` where the differences do not vary across seeds."""
    x = [r["test"][metric] for r in results[a]]
    y = [r["test"][metric] for r in results[b]]
    t, p = stats.paired_ttest(x, y)
    return stats.json_safe(
        {
            "a": a,
            "b": b,
            "metric": metric,
            "mean_difference": float(sum(x) / len(x) - sum(y) / len(y)),
            "t": t,
            "p": p,
            "seeds": len(x),
        }
    )


def select_by_test(runs: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Per run: the test metrics at the epoch with the best TEST ``metric`` (optimistic)."""
    out = []
    for run in runs:
        history = json.loads((Path(run["run_dir"]) / "metrics.json").read_text())["history"]
        best = max(history, key=lambda h: h["test"][metric])
        out.append(
            {
                **run,
                "test": best["test"],
                "best_epoch": best["epoch"],
                "selection": TEST_SELECTION_LABEL,
            }
        )
    return out


def compare(
    base: TrainConfig,
    variants: dict[str, dict[str, Any]],
    seeds: list[int],
    out_dir: Path,
    metrics: list[str],
    title: str,
    with_test_selection: bool,
    json_out: Path | None = None,
    ttests: list[tuple[str, str]] | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """Train (or reuse) ``variants`` over ``seeds`` (``jobs`` at once), print their
    table and the paired t-tests ``ttests``, and write it all to ``json_out``."""
    console = Console(emoji=False, highlight=False)  # results
    log = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)  # progress
    warning = load_dataset(portable(base)).warning
    if warning:
        log.print(f"[yellow]about this dataset:[/yellow] {escape(warning)}")
    results = run_grid(base, variants, seeds, out_dir, quiet=True, console=log, jobs=jobs)
    rows = summarise(results, metrics)
    print_rows(rows, metrics, f"{title}: {rows[0]['selection']}", console)
    payload: dict[str, Any] = {
        "config": base.to_dict(),
        "seeds": seeds,
        "variants": variants,
        "rows": rows,
    }
    if with_test_selection:
        sel = base.metric or "weighted_f1"
        test_rows = summarise({k: select_by_test(v, sel) for k, v in results.items()}, metrics)
        print_rows(test_rows, metrics, f"{title}: {TEST_SELECTION_LABEL}", console)
        payload["rows_select_by_test"] = test_rows
    for a, b in ttests or []:
        tests = payload.setdefault("paired_ttests", [])
        for metric in metrics:
            t = variant_ttest(results, a, b, metric)
            tests.append(t)
            said = (
                f"t = {t['t']:.3f}, p = {t['p']:.4f}"
                if t["t"] is not None
                else "the same difference on every seed, no t-test"
            )
            console.print(
                f"paired t-test, {a} vs {b}, {metric}: mean difference "
                f"{100 * t['mean_difference']:+.2f} points, {said} ({t['seeds']} seeds)"
            )
    rows = payload.pop("rows")
    save_rows(out_dir / "results.json", rows, payload)
    if json_out is not None:
        save_rows(json_out, rows, payload)
    return {**payload, "rows": rows}


def fusion_variants(embed: str) -> dict[str, dict[str, Any]]:
    return {name: {"fusion": name, "embed": embed} for name in list_fusions()}


__all__ = [
    "BCLSTM_VARIANTS",
    "CIMA_VARIANTS",
    "compare",
    "fusion_variants",
    "mean_std",
    "select_by_test",
    "variant_ttest",
]
