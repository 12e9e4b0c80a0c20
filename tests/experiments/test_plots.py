from pathlib import Path

import pytest

from lmam.experiments import plots

PNG = b"\x89PNG\r\n\x1a\n"


def check_png(folder: Path, name: str) -> None:
    """``folder`` holds the PNG ``name`` and nothing else (no temporary file left)."""
    assert [p.name for p in folder.iterdir()] == [name]
    data = (folder / name).read_bytes()
    assert data[:8] == PNG
    assert len(data) > 1024


def history(values: list[float]) -> list[dict]:
    return [
        {"epoch": i + 1, "loss": 1.0, "valid": {"accuracy": v}, "test": {"accuracy": v - 0.05}}
        for i, v in enumerate(values)
    ]


def test_learning_curves(tmp_path):
    groups = {
        "concat": [history([0.3, 0.5, 0.6]), history([0.35, 0.45])],  # stopped early
        "lmam": [history([0.4, 0.6, 0.7]), history([0.42, 0.58, 0.66])],
    }
    plots.learning_curves(groups, "accuracy", tmp_path / "curves.png")
    check_png(tmp_path, "curves.png")


def test_per_class_bars(tmp_path):
    rows = {
        "dialoguegcn": {"happy": (0.45, 0.02), "sad": (0.70, 0.01), "angry": (0.62, 0.03)},
        "dialoguegcn+lmam": {"happy": (0.50, 0.01), "sad": (0.72, 0.02), "angry": (0.60, 0.0)},
    }
    plots.per_class_bars(rows, tmp_path / "bars.png", "test F1 per class")
    check_png(tmp_path, "bars.png")


def test_confusion(tmp_path):
    matrix = [[59, 9, 18], [2, 169, 28], [13, 24, 186]]
    plots.confusion(matrix, ["happy", "sad", "neutral"], tmp_path / "cm.png", "test")
    check_png(tmp_path, "cm.png")


def test_sweep(tmp_path):
    ranks = [5.0, 25.0, 45.0, 100.0]
    series = {
        "accuracy": [[0.60, 0.62], [0.63, 0.61], [0.64, 0.65], [0.62, 0.60]],
        "weighted_f1": [[0.59, 0.61], [0.62, 0.60], [0.63, 0.64], [0.61, 0.60]],
    }
    plots.sweep(ranks, series, tmp_path / "rank.png", "rank", "rank sweep")
    check_png(tmp_path, "rank.png")
    with pytest.raises(ValueError, match="3 points for 4 settings"):
        plots.sweep(ranks, {"accuracy": series["accuracy"][:3]}, tmp_path / "bad.png", "r", "t")
    check_png(tmp_path, "rank.png")
