"""``lmam runs``: finished runs grouped by configuration, mean ± std over seeds."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from lmam.cli.errors import log_console, out_console, plural
from lmam.errors import RunError
from lmam.experiments.runs import (
    PERCENT_METRICS,
    check_metrics,
    check_split,
    default_metrics,
    find_runs,
    group_runs,
    show_value,
    summarise_runs,
)
from lmam.outputs import atomic_write_json, check_output, json_safe


def runs_command(
    dirs: list[Path] = typer.Argument(
        ..., help="run directories, or folders searched recursively for them"
    ),
    metric: list[str] = typer.Option(
        [],
        "--metric",
        help="a metric of the summaries (repeat); default: accuracy and weighted_f1, "
        "or mae, pearson_r, acc2, f1, acc7 for regression runs",
    ),
    plot: Path | None = typer.Option(
        None, "--plot", help="write learning curves (valid and test of the first metric) here"
    ),
    json_out: Path | None = typer.Option(None, "--json", help="also write the rows here"),
    split: str = typer.Option("test", help="the split whose metrics are summarised: valid or test"),
) -> None:
    """Summarise finished runs: grouped by configuration, mean ± std over seeds."""
    check_split(split)
    for given, option in ((json_out, "--json"), (plot, "--plot")):
        if given is not None:
            check_output(given, option, dirs)
    console, log = out_console(), log_console()
    runs, skipped = find_runs(dirs)
    for path, reason in skipped:
        # one line however long the path: a wrapped path can't be copied or grepped
        log.print(f"[yellow]skipped[/yellow] {escape(str(path))}: {escape(reason)}")
    if not runs:
        raise RunError(
            f"no finished run in {', '.join(str(d) for d in dirs)} ({len(skipped)} skipped)"
        )
    metrics = metric or default_metrics(runs, split)
    check_metrics(runs, metrics, split)
    groups = group_runs(runs)
    rows = summarise_runs(groups, metrics, split)

    selections = list(dict.fromkeys(row["selection"] for row in rows))
    several = len(selections) > 1
    caption = "; ".join(
        f"selection{f' {i + 1}' if several else ''}: {text}" for i, text in enumerate(selections)
    )
    table = Table(
        title=f"{plural(len(runs), 'run')} in {plural(len(rows), 'group')}: {split} metrics, "
        "mean ± std",
        caption=escape(caption),
    )
    table.add_column("group", overflow="fold", min_width=16)
    table.add_column("seeds", overflow="fold")
    for m in metrics:
        unit = " (%)" if m in PERCENT_METRICS else ""
        table.add_column(f"{m}{unit}", justify="right", no_wrap=True)
    table.add_column("parameters", justify="right")
    table.add_column("s / epoch", justify="right")
    if several:
        table.add_column("sel.", justify="right")
    for row in rows:
        table.add_row(
            escape(row["group"]),
            ",".join(str(s) for s in row["seeds"]),
            *[show_value(m, row[m]) for m in metrics],
            f"{row['parameters']:,}",
            f"{row['seconds_per_epoch'][0]:.3f}",
            *([str(selections.index(row["selection"]) + 1)] if several else []),
        )
    console.print(table)

    if json_out is not None:
        atomic_write_json(
            json_out,
            json_safe(
                {
                    "split": split,
                    "metrics": metrics,
                    "rows": rows,
                    "skipped": [{"run": str(p), "reason": r} for p, r in skipped],
                }
            ),
        )
        log.print(f"wrote {escape(str(json_out))}")
    if plot is not None:
        from lmam.experiments.plots import learning_curves

        learning_curves(
            {label: [r.history() for r in group] for label, group in groups.items()},
            metrics[0],
            plot,
        )
        log.print(f"wrote {escape(str(plot))}")
