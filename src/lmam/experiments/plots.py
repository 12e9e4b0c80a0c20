"""Figures of finished runs, as PNG files (matplotlib's Agg renderer).

matplotlib is imported inside each function (``pip install lmam[plots]``)
and used through its object interface, without pyplot's global state. Every
file is written atomically: a temporary file in the same folder, then a rename.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lmam.outputs import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SPLITS = ("valid", "test")


def _figure(width: float, height: float, cols: int = 1) -> tuple[Figure, Any]:
    """A figure on the Agg canvas and its axes (an array of ``cols`` axes if ``cols > 1``)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("figures need matplotlib: pip install 'lmam[plots]'") from None

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, cols, squeeze=True)


def _save(fig: Figure, path: Path) -> None:
    def write(tmp: str) -> None:
        fig.savefig(tmp, format="png", dpi=100)

    atomic_write(Path(path), write)


def learning_curves(groups: dict[str, list[list[dict[str, Any]]]], metric: str, path: Path) -> None:
    """The valid and test ``metric`` per epoch: each group's mean over runs, and a
    min-max band.

    Args:
        groups: ``{label: [history per run]}``, a history being ``metrics.json``'s
            list of per-epoch dicts (``epoch``, ``valid: {metric: ...}``,
            ``test: {metric: ...}``). Runs may have different lengths (early
            stopping): each epoch averages the runs that reached it.
        metric: e.g. ``"weighted_f1"``.
        path: the PNG to write.
    """
    fig, axes = _figure(11, 4 + 0.25 * len(groups), cols=2)
    for ax, split in zip(axes, SPLITS):
        for label, histories in groups.items():
            epochs = sorted({h["epoch"] for run in histories for h in run})
            values = [
                [h[split][metric] for run in histories for h in run if h["epoch"] == e]
                for e in epochs
            ]
            mean = [float(np.mean(v)) for v in values]
            (line,) = ax.plot(epochs, mean, label=label)
            ax.fill_between(
                epochs,
                [min(v) for v in values],
                [max(v) for v in values],
                color=line.get_color(),
                alpha=0.2,
            )
        ax.set_title(f"{split} {metric}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize="small")
    _save(fig, path)


def per_class_bars(
    rows: dict[str, dict[str, tuple[float, float]]], path: Path, title: str, ylabel: str = ""
) -> None:
    """Grouped bars per class with error bars (e.g. F1 of a backbone and the
    backbone with LMAM).

    Args:
        rows: ``{series: {class: (mean, std)}}``; the classes of the first
            series give the order (a class a series lacks has no bar there).
        path: the PNG to write.
        title: the figure's title.
        ylabel: the y axis's label.
    """
    classes = list(next(iter(rows.values()), {}))
    fig, ax = _figure(max(6.0, 1.2 * len(classes) * max(1, len(rows)) / 2 + 2), 4)
    width = 0.8 / max(1, len(rows))
    x = np.arange(len(classes))
    for i, (series, scores) in enumerate(rows.items()):
        at = [j for j, c in enumerate(classes) if c in scores]
        ax.bar(
            x[at] + (i - (len(rows) - 1) / 2) * width,
            [scores[classes[j]][0] for j in at],
            width,
            yerr=[scores[classes[j]][1] for j in at],
            capsize=3,
            label=series,
        )
    ax.set_xticks(x, classes)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def confusion(matrix: Sequence[Sequence[int]], labels: list[str], path: Path, title: str) -> None:
    """A confusion matrix as a heat map with its counts written in the cells.

    Args:
        matrix: ``(C, C)`` counts, rows the true labels, columns the predictions
            (a summary's ``confusion_matrix``).
        labels: the ``C`` class names, in the matrix's order.
        path: the PNG to write.
        title: the figure's title.
    """
    counts = np.asarray(matrix, dtype=np.int64)
    side = max(4.0, 0.7 * len(labels) + 2)
    fig, ax = _figure(side + 1, side)
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels, rotation=45, ha="right")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("prediction")
    ax.set_ylabel("label")
    ax.set_title(title)
    half = counts.max() / 2 if counts.size else 0
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                color="white" if counts[i, j] > half else "black",
            )
    _save(fig, path)


def sweep(
    x: list[float],
    series: dict[str, list[list[float]]],
    path: Path,
    xlabel: str,
    title: str,
    ylabel: str = "",
) -> None:
    """Scores against a setting (e.g. accuracy and weighted F1 against LMAM's
    rank): the mean over seeds with ± one standard deviation as error bars and
    the min-max range as a band.

    Args:
        x: the settings, e.g. ``[5, 10, ..., 100]``.
        series: ``{name: [values over seeds, one list per x]}``, each list of
            length ``len(x)``.
        path: the PNG to write.
        xlabel: the x axis's label.
        title: the figure's title.
        ylabel: the y axis's label.
    """
    fig, ax = _figure(7, 4)
    for name, values in series.items():
        if len(values) != len(x):
            raise ValueError(f"series {name!r} has {len(values)} points for {len(x)} settings")
        arrays = [np.asarray(v, dtype=np.float64) for v in values]
        mean = [float(a.mean()) for a in arrays]
        std = [float(a.std(ddof=1)) if len(a) > 1 else 0.0 for a in arrays]
        line = ax.errorbar(x, mean, yerr=std, marker="o", capsize=3, label=name)
        ax.fill_between(
            x,
            [float(a.min()) for a in arrays],
            [float(a.max()) for a in arrays],
            color=line.lines[0].get_color(),
            alpha=0.15,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


__all__ = ["confusion", "learning_curves", "per_class_bars", "sweep"]
