"""Metrics on hand-computable fixtures (house rule 11) and agreement with scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from deepleak_lib.errors import DeepLeakError
from deepleak_lib.metrics import (
    advantage,
    attack_metrics,
    auc,
    balanced_accuracy,
    best_threshold,
    bootstrap_ci,
    roc_curve,
    summarize_over_seeds,
    tpr_at_fpr,
    tpr_key,
)

# Ten non-members at 0.0, 0.1, ..., 0.9 and five members; worked out by hand:
# >= 0.95 flags 2 members, 0 non-members; >= 0.85 flags 3 members and the 0.9 non-member (FPR 0.1);
# >= 0.75 flags 4 members and 2 non-members (FPR 0.2). AUC = (10 + 10 + 9 + 8 + 1) / 50 = 0.76.
NEG = np.arange(10) / 10
POS = np.array([1.0, 0.95, 0.85, 0.75, 0.05])
TINY_SCORES = np.r_[POS, NEG]
TINY_LABELS = np.r_[np.ones(5), np.zeros(10)].astype(int)


def test_perfect_attacker() -> None:
    y = np.r_[np.ones(50), np.zeros(2000)].astype(int)
    s = y + 0.01 * np.arange(y.size) / y.size
    assert auc(s, y) == 1.0
    assert tpr_at_fpr(s, y, 0.001) == 1.0
    assert advantage(s, y) == 1.0
    assert balanced_accuracy(s, y) == 1.0


def test_reversed_scores_give_auc_zero() -> None:
    y = np.r_[np.ones(20), np.zeros(20)].astype(int)
    s = -y.astype(float)
    assert auc(s, y) == 0.0
    assert tpr_at_fpr(s, y, 0.01) == 0.0
    assert advantage(s, y) == 0.0


def test_tiny_example_by_hand() -> None:
    assert auc(TINY_SCORES, TINY_LABELS) == pytest.approx(0.76)
    assert tpr_at_fpr(TINY_SCORES, TINY_LABELS, 0.1) == pytest.approx(0.6)  # exactly one false positive
    assert tpr_at_fpr(TINY_SCORES, TINY_LABELS, 0.15) == pytest.approx(0.6)  # never the point above (0.8)
    assert tpr_at_fpr(TINY_SCORES, TINY_LABELS, 0.2) == pytest.approx(0.8)
    assert tpr_at_fpr(TINY_SCORES, TINY_LABELS, 0.05) == pytest.approx(0.4)  # no false positive allowed
    assert advantage(TINY_SCORES, TINY_LABELS) == pytest.approx(0.6)  # TPR 0.8 - FPR 0.2


def test_fpr_budget_is_inclusive_in_counts() -> None:
    # 1000 non-members: FPR <= 0.1% admits exactly one false positive.
    neg = np.arange(1000, dtype=float)
    pos = np.array([2000.0, 998.5, 997.5])
    s = np.r_[pos, neg]
    y = np.r_[np.ones(3), np.zeros(1000)].astype(int)
    assert tpr_at_fpr(s, y, 0.0009) == pytest.approx(1 / 3)
    assert tpr_at_fpr(s, y, 0.001) == pytest.approx(2 / 3)
    assert tpr_at_fpr(s, y, 0.0019) == pytest.approx(2 / 3)
    assert tpr_at_fpr(s, y, 0.002) == pytest.approx(1.0)


def test_ties_form_one_point() -> None:
    y = np.r_[np.ones(30), np.zeros(30)].astype(int)
    s = np.full(60, 0.3)
    fpr, tpr, thr = roc_curve(s, y)
    np.testing.assert_array_equal(fpr, [0.0, 1.0])
    np.testing.assert_array_equal(tpr, [0.0, 1.0])
    assert thr[0] == np.inf
    assert auc(s, y) == 0.5
    assert tpr_at_fpr(s, y, 0.01) == 0.0
    # Partial tie: pairs (1>.5), (1>0), (.5=.5 counts half), (.5>0) -> 3.5 / 4.
    s2, y2 = np.array([1.0, 0.5, 0.5, 0.0]), np.array([1, 1, 0, 0])
    fpr, tpr, _ = roc_curve(s2, y2)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])
    assert auc(s2, y2) == pytest.approx(0.875)


def test_infinite_scores_are_ranked() -> None:
    s = np.array([np.inf, np.inf, 0.0, -np.inf])
    y = np.array([1, 0, 1, 0])
    assert auc(s, y) == pytest.approx(roc_auc_score(y, np.array([3.0, 3.0, 1.0, 0.0])))


def test_agrees_with_sklearn_on_random_data() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.4).astype(int)
    s = np.round(rng.normal(size=500) + 0.5 * y, 1)  # rounding creates many ties
    assert auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    fpr, tpr, thr = roc_curve(s, y)
    sk_fpr, sk_tpr, sk_thr = sk_roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thr[1:], sk_thr[1:])


def test_balanced_accuracy_by_hand() -> None:
    s = np.array([0.1, 0.4, 0.35, 0.8])
    y = np.array([0, 0, 1, 1])
    assert balanced_accuracy(s, y, threshold=0.3) == pytest.approx(0.75)  # TPR 1, TNR 0.5
    assert balanced_accuracy(s, y, threshold=0.5) == pytest.approx(0.75)  # TPR 0.5, TNR 1
    assert balanced_accuracy(s, y, threshold=0.05) == pytest.approx(0.5)
    assert balanced_accuracy(s, y) == pytest.approx((1 + advantage(s, y)) / 2)
    thr, ba = best_threshold(s, y)
    assert ba == pytest.approx(0.75)
    assert balanced_accuracy(s, y, threshold=thr) == pytest.approx(0.75)


def test_attack_metrics_keys() -> None:
    m = attack_metrics(TINY_SCORES, TINY_LABELS, fprs=(0.001, 0.01, 0.1))
    assert list(m) == [
        "auc",
        "balanced_accuracy",
        "balanced_accuracy_oracle",
        "advantage",
        "tpr_at_fpr_0.001",
        "tpr_at_fpr_0.01",
        "tpr_at_fpr_0.1",
        "n_members",
        "n_nonmembers",
    ]
    assert tpr_key(0.001) == "tpr_at_fpr_0.001"
    assert m["balanced_accuracy_oracle"] is True
    assert m["tpr_at_fpr_0.1"] == pytest.approx(0.6)
    assert (m["n_members"], m["n_nonmembers"]) == (5, 10)
    m2 = attack_metrics(TINY_SCORES, TINY_LABELS, threshold=0.85)
    assert m2["balanced_accuracy_oracle"] is False
    assert m2["balanced_accuracy"] == pytest.approx(0.5 * (0.6 + 0.9))


def test_bootstrap_ci_is_stratified_and_seeded() -> None:
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(60), np.zeros(140)].astype(int)
    s = rng.normal(size=200) + y

    def auc_checking_sizes(sb: np.ndarray, yb: np.ndarray) -> float:
        assert int(yb.sum()) == 60 and yb.size == 200
        return auc(sb, yb)

    lo, hi = bootstrap_ci(s, y, auc_checking_sizes, n_boot=50, seed=3)
    assert lo <= auc(s, y) <= hi
    assert (lo, hi) == bootstrap_ci(s, y, auc, n_boot=50, seed=3)


def test_summarize_over_seeds() -> None:
    df = pd.DataFrame(
        {
            "attack": ["a", "a", "b"],
            "seed": [0, 1, 0],
            "auc": [0.6, 0.8, 0.5],
            "tpr_at_fpr_0.001": [0.0, 0.2, 0.1],
        }
    )
    out = summarize_over_seeds(df, ["attack"], ["auc", "tpr_at_fpr_0.001"])
    row = out.set_index("attack").loc["a"]
    assert row["auc_mean"] == pytest.approx(0.7)
    assert row["auc_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert row["n_seeds"] == 2
    assert np.isnan(out.set_index("attack").loc["b", "auc_std"])
    with pytest.raises(DeepLeakError, match="not in the table"):
        summarize_over_seeds(df, ["model"], ["auc"])


@pytest.mark.parametrize(
    ("scores", "labels", "match"),
    [
        ([0.1, 0.2], [0, 1, 1], "differ in length"),
        ([0.1, 0.2, 0.3], [0, 1, 2], "0 .non-member. or 1"),
        ([0.1, 0.2, 0.3], [1, 1, 1], "only one class"),
        ([0.1, np.nan, 0.3], [0, 1, 0], "NaN"),
        ([], [], "empty"),
        ([[0.1, 0.2]], [[0, 1]], "1-D"),
    ],
)
def test_validation_errors_are_one_line(scores: object, labels: object, match: str) -> None:
    with pytest.raises(DeepLeakError, match=match) as info:
        attack_metrics(scores, labels)
    assert "\n" not in str(info.value)


def test_bad_parameters() -> None:
    with pytest.raises(DeepLeakError, match="max_fpr"):
        tpr_at_fpr(TINY_SCORES, TINY_LABELS, 1.5)
    with pytest.raises(DeepLeakError, match="n_boot"):
        bootstrap_ci(TINY_SCORES, TINY_LABELS, auc, n_boot=0, seed=0)


def test_non_numeric_labels() -> None:
    with pytest.raises(DeepLeakError, match="0/1 numbers"):
        auc([0.1, 0.2], ["in", "out"])
