import numpy as np
import pytest

from lmam.train.losses import class_weights, summed_loss
from lmam.train.metrics import better, classification_metrics, regression_metrics


def test_classification_metrics_by_hand():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 0, 2])
    m = classification_metrics(labels, preds, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(5 / 7)
    f1 = {"a": 0.5, "b": 0.8, "c": 0.8}  # a: p=1/2 r=1/2; b: p=2/3 r=1; c: p=1 r=2/3
    assert {k: v["f1"] for k, v in m["per_class"].items()} == pytest.approx(f1)
    assert m["per_class"]["c"]["accuracy"] == pytest.approx(2 / 3)
    assert m["weighted_f1"] == pytest.approx((2 * 0.5 + 2 * 0.8 + 3 * 0.8) / 7)
    assert m["macro_f1"] == pytest.approx(2.1 / 3)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]


def test_absent_class_does_not_crash():
    m = classification_metrics(np.array([0, 0]), np.array([0, 1]), ["a", "b", "c"])
    assert m["per_class"]["c"] == {"accuracy": 0.0, "f1": 0.0, "support": 0}


def test_regression_metrics_by_hand():
    labels = np.array([-2.0, -0.5, 0.4, 2.6])
    preds = np.array([-1.0, 0.5, 0.2, 3.4])
    m = regression_metrics(labels, preds)
    assert m["mae"] == pytest.approx((1 + 1 + 0.2 + 0.8) / 4)
    assert m["acc2"] == pytest.approx(3 / 4)
    assert m["acc7"] == pytest.approx(3 / 4)  # rounded: -2/-1, 0/0 (half to even), 0/0, 3/3
    assert m["pearson_r"] == pytest.approx(np.corrcoef(labels, preds)[0, 1])


def test_better_knows_the_direction():
    assert better("mae", 0.5, 0.6) and not better("mae", 0.7, 0.6)
    assert better("weighted_f1", 0.7, 0.6) and better("accuracy", 0.1, None)


def test_losses():
    import torch

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 0])
    ce = summed_loss("ce", logits, labels)
    assert ce == pytest.approx(
        torch.nn.functional.cross_entropy(logits, labels, reduction="sum").item()
    )
    focal0 = summed_loss("focal", logits, labels, gamma=0.0)
    assert focal0 == pytest.approx(ce.item(), rel=1e-6)
    assert summed_loss("focal", logits, labels, gamma=2.0) < ce
    w = class_weights(torch.tensor([30, 10, 0]))
    assert w[2] == 0 and w[1] == pytest.approx(3 * w[0]) and w[:2].mean() == pytest.approx(1.0)


def test_mosi_sentiment_metrics_by_hand():
    """Acc-7, MAE, Pearson r, Acc-2 and F1 as the CMU-MOSI literature computes them."""
    labels = np.array([-3.0, -1.4, 0.0, 0.6, 3.0, 0.8])  # mean 0
    preds = np.array([-3.6, -0.6, 0.4, 1.5, 4.0, -1.7])  # mean 0
    m = regression_metrics(labels, preds)
    # |errors| 0.6, 0.8, 0.4, 0.9, 1.0, 2.5
    assert m["mae"] == pytest.approx(6.2 / 6)
    # round(clip(., -3, 3)): labels -3, -1, 0, 1, 3, 1; preds -3, -1, 0, 2, 3, -2.
    # Without the clip, -3.6 and 4.0 would round to -4 and 4 and miss.
    assert m["acc7"] == pytest.approx(4 / 6)
    # both means are 0: r = sum(xy) / sqrt(sum(x^2) sum(y^2))
    sxy = 10.8 + 0.84 + 0.0 + 0.9 + 12.0 - 1.36  # 23.18
    sxx = 9.0 + 1.96 + 0.0 + 0.36 + 9.0 + 0.64  # 20.96
    syy = 12.96 + 0.36 + 0.16 + 2.25 + 16.0 + 2.89  # 34.62
    assert m["pearson_r"] == pytest.approx(sxy / np.sqrt(sxx * syy))
    assert m["pearson_r"] == pytest.approx(0.86051, abs=1e-5)
    # >= 0: labels F F T T T T, preds F F T T T F
    assert m["acc2"] == pytest.approx(5 / 6)
    # positive: P 1, R 3/4, F1 6/7 (support 4); negative: P 2/3, R 1, F1 4/5 (support 2)
    assert m["f1"] == pytest.approx((4 * 6 / 7 + 2 * 4 / 5) / 6)
    assert m["n"] == 6
