import json
import math

import pytest
from scipy import stats

from lmam.errors import OptionError
from lmam.experiments.stats import (
    delta_row,
    json_safe,
    mean_metrics,
    paired_ttest,
    paired_ttest_per_class,
    per_class,
)

# SciPy warns about the classes whose differences are all equal
pytestmark = pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")


def summary(x: float, y: float, accuracy: float = 0.5, weighted_f1: float = 0.5) -> dict:
    """A summary with two classes whose test F1 are ``x`` and ``y``."""
    return {
        "test": {
            "accuracy": accuracy,
            "weighted_f1": weighted_f1,
            "per_class": {
                "x": {"accuracy": x + 0.01, "f1": x, "support": 10},
                "y": {"accuracy": y + 0.01, "f1": y, "support": 20},
            },
        },
        "valid": {"accuracy": 0.4, "weighted_f1": 0.4, "per_class": {}},
    }


# class x: differences 0.10, 0.15, 0.05; class y: 0.25 every seed (constant, exact in binary)
A = [summary(0.60, 0.5), summary(0.70, 0.75), summary(0.65, 0.625)]
B = [summary(0.50, 0.25), summary(0.55, 0.5), summary(0.60, 0.375)]


def test_per_class_reads_accuracy_and_f1():
    assert per_class(A[0]) == {
        "x": {"accuracy": 0.61, "f1": 0.60},
        "y": {"accuracy": 0.51, "f1": 0.5},
    }
    with pytest.raises(OptionError, match="per-class"):
        per_class(A[0], "valid")
    with pytest.raises(OptionError, match="no 'train' split"):
        per_class(A[0], "train")


def test_paired_ttest_matches_scipy_and_the_hand_computation():
    result = paired_ttest_per_class(A, B)
    x = result["x"]
    # by hand: d = (0.10, 0.15, 0.05), mean 0.10, sd 0.05, n 3
    t_hand = 0.10 / (0.05 / math.sqrt(3))
    assert t_hand == pytest.approx(3.4641016, abs=1e-6)
    assert x["t"] == pytest.approx(t_hand)
    # two-sided p of Student's t with 2 degrees of freedom: 1 - t / sqrt(2 + t^2)
    assert x["p"] == pytest.approx(1 - t_hand / math.sqrt(2 + t_hand**2))
    assert x["p"] == pytest.approx(0.0741799, abs=1e-6)
    scipy_test = stats.ttest_rel([0.60, 0.70, 0.65], [0.50, 0.55, 0.60])
    assert x["t"] == pytest.approx(scipy_test.statistic)
    assert x["p"] == pytest.approx(scipy_test.pvalue)
    assert x["mean_a"] == pytest.approx(0.65)
    assert x["mean_b"] == pytest.approx(0.55)
    assert x["mean_difference"] == pytest.approx(0.10)
    assert x["seeds"] == 3
    accuracy = paired_ttest_per_class(A, B, metric="accuracy")["x"]
    assert accuracy["t"] == pytest.approx(t_hand)


def test_constant_differences_keep_scipys_answer_which_json_writes_as_null():
    y = paired_ttest_per_class(A, B)["y"]  # differences 0.25, 0.25, 0.25
    assert y["mean_difference"] == 0.25
    assert y["t"] == stats.ttest_rel([0.5, 0.75, 0.625], [0.25, 0.5, 0.375]).statistic
    assert not math.isfinite(y["t"])
    same = paired_ttest_per_class(A, A)["x"]  # differences all 0: nan
    assert math.isnan(same["t"]) and math.isnan(same["p"])
    safe = json.loads(json.dumps(json_safe({"y": y, "same": same, "l": [1.0]}), allow_nan=False))
    assert safe["y"]["t"] is None
    assert safe["same"]["t"] is None and safe["same"]["p"] is None
    assert safe["same"]["mean_difference"] == 0.0 and safe["l"] == [1.0]


def test_differences_equal_up_to_rounding_are_the_degenerate_case_not_a_tiny_p():
    # 6 more right answers of 2610 on every seed: the float differences are equal
    # only up to rounding, where SciPy alone gives t ~ 1e13 and p ~ 1e-28
    x = [1650 / 2610, 1600 / 2610, 1625 / 2610]
    y = [1644 / 2610, 1594 / 2610, 1619 / 2610]
    assert abs(stats.ttest_rel(x, y).statistic) > 1e6
    t, p = paired_ttest(x, y)
    assert t == math.inf and p == 0.0
    assert paired_ttest(y, x)[0] == -math.inf
    t, p = paired_ttest(x, list(x))
    assert math.isnan(t) and math.isnan(p)
    # varying differences: SciPy's answer unchanged
    x2, y2 = [0.6, 0.7, 0.65], [0.5, 0.55, 0.6]
    want = stats.ttest_rel(x2, y2)
    assert paired_ttest(x2, y2) == (pytest.approx(want.statistic), pytest.approx(want.pvalue))


def test_mismatched_or_too_few_seeds_are_refused():
    with pytest.raises(OptionError, match="same seeds on both sides, got 3 and 2"):
        paired_ttest_per_class(A, B[:2])
    with pytest.raises(OptionError, match="at least 2 seeds, got 1"):
        paired_ttest_per_class(A[:1], B[:1])
    with pytest.raises(OptionError, match="per-class metric"):
        paired_ttest_per_class(A, B, metric="weighted_f1")
    other = [{"test": {"per_class": {"z": {"accuracy": 0.1, "f1": 0.1}}}}] * 3
    with pytest.raises(OptionError, match="different classes"):
        paired_ttest_per_class(A, other)


def test_delta_row_is_star_minus_base():
    base = summary(0.50, 0.40, accuracy=0.60, weighted_f1=0.58)["test"]
    star = summary(0.55, 0.38, accuracy=0.63, weighted_f1=0.62)["test"]
    delta = delta_row(base, star)
    assert delta["per_class"]["x"]["f1"] == pytest.approx(0.05)
    assert delta["per_class"]["y"]["f1"] == pytest.approx(-0.02)
    assert delta["per_class"]["y"]["accuracy"] == pytest.approx(-0.02)
    assert delta["accuracy"] == pytest.approx(0.03)
    assert delta["weighted_f1"] == pytest.approx(0.04)
    assert "macro_f1" not in delta


def test_delta_of_means_over_seeds():
    mean_a, mean_b = mean_metrics(A), mean_metrics(B)
    assert mean_a["per_class"]["x"]["f1"] == pytest.approx(0.65)
    delta = delta_row(mean_b, mean_a)
    assert delta["per_class"]["x"]["f1"] == pytest.approx(0.10)
    assert delta["accuracy"] == pytest.approx(0.0)
