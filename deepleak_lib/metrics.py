"""Membership-inference metrics with the field's conventions.

Scores are "higher = more likely member"; labels are 1 for members and 0 for non-members.
Low-FPR numbers follow Carlini et al., "Membership Inference Attacks From First Principles"
(IEEE S&P 2022): TPR is read at FPR <= the budget, never at the nearest ROC point above it
(the DeepLeak release did the latter, which can overstate leakage). Balanced accuracy and
advantage follow Yeom et al., "Privacy Risk in Machine Learning" (IEEE CSF 2018).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .errors import DeepLeakError

__all__ = [
    "advantage",
    "attack_metrics",
    "auc",
    "balanced_accuracy",
    "best_threshold",
    "bootstrap_ci",
    "check_scores_labels",
    "roc_curve",
    "summarize_over_seeds",
    "tpr_at_fpr",
    "tpr_key",
]


def check_scores_labels(scores: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert to (float64 scores, int8 labels); raise a one-line DeepLeakError otherwise.

    Infinite scores are allowed (a likelihood ratio can overflow); NaN is not, because it has no rank.
    """
    s = np.asarray(scores, dtype=np.float64)
    y_raw = np.asarray(labels)
    if s.ndim != 1 or y_raw.ndim != 1:
        raise DeepLeakError(
            f"scores and labels must be 1-D arrays, got shapes {s.shape} and {y_raw.shape}; flatten them first"
        )
    if s.shape[0] != y_raw.shape[0]:
        raise DeepLeakError(
            f"scores ({s.shape[0]}) and labels ({y_raw.shape[0]}) differ in length; pass one score per labelled sample"
        )
    if s.shape[0] == 0:
        raise DeepLeakError("scores and labels are empty; pass at least one member and one non-member")
    if np.isnan(s).any():
        raise DeepLeakError(f"{int(np.isnan(s).sum())} scores are NaN; fix the attack or drop those samples")
    if y_raw.dtype == bool:
        y = y_raw.astype(np.int8)
    else:
        try:
            y_f = y_raw.astype(np.float64)
        except (TypeError, ValueError):
            raise DeepLeakError(f"labels must be 0/1 numbers, got dtype {y_raw.dtype}; recode them") from None
        if not np.isin(y_f, (0.0, 1.0)).all():
            bad = np.unique(y_f[~np.isin(y_f, (0.0, 1.0))])[:5]
            raise DeepLeakError(
                f"labels must be 0 (non-member) or 1 (member), found {bad.tolist()}; recode them"
            )
        y = y_f.astype(np.int8)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.shape[0]:
        raise DeepLeakError(
            f"labels contain only one class ({n_pos} members of {y.shape[0]}); include both members and non-members"
        )
    return s, y


def roc_curve(scores: object, labels: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ROC curve for the rule "member iff score >= threshold".

    Tied scores form a single ROC point (no arbitrary tie breaking). The first point is (0, 0) with
    threshold ``+inf`` (nothing flagged), the last is (1, 1). Every point is kept, so the arrays can be
    drawn on log-log axes; points with FPR = 0 or TPR = 0 are simply not shown there.

    Returns:
        ``(fpr, tpr, thresholds)``, each of length (number of distinct scores + 1), FPR non-decreasing.
    """
    s, y = check_scores_labels(scores, labels)
    return _roc(s, y)


def _roc(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order].astype(np.int64)
    tps = np.cumsum(y_sorted)
    fps = np.cumsum(1 - y_sorted)
    # Compare neighbours instead of np.diff: inf - inf is NaN and would split a tie of infinite scores.
    last_of_tie = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), s_sorted.shape[0] - 1]
    n_pos, n_neg = int(tps[-1]), int(fps[-1])
    tpr = np.r_[0.0, tps[last_of_tie] / n_pos]
    fpr = np.r_[0.0, fps[last_of_tie] / n_neg]
    thresholds = np.r_[np.inf, s_sorted[last_of_tie]]
    return fpr, tpr, thresholds


def auc(scores: object, labels: object) -> float:
    """Area under the exact ROC curve (= P[member score > non-member score] + 0.5 P[tie])."""
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(np.trapezoid(tpr, fpr))


def tpr_at_fpr(scores: object, labels: object, max_fpr: float) -> float:
    """Largest TPR over ROC points whose FPR is <= ``max_fpr`` (never the nearest point above).

    With ``n`` non-members the smallest non-zero FPR is ``1/n``; if ``max_fpr < 1/n`` only thresholds
    with no false positive qualify, and the result is 0.0 unless some threshold flags members alone.
    """
    if not 0.0 <= float(max_fpr) <= 1.0:
        raise DeepLeakError(f"max_fpr must lie in [0, 1], got {max_fpr}; pass e.g. 0.001 for 0.1% FPR")
    s, y = check_scores_labels(scores, labels)
    fpr, tpr, _ = _roc(s, y)
    n_neg = int(y.shape[0] - y.sum())
    # Compare false-positive counts, not floats, so that FPR = k/n exactly at the budget is admitted.
    allowed_fp = np.floor(float(max_fpr) * n_neg + 1e-9)
    ok = np.rint(fpr * n_neg) <= allowed_fp
    return float(tpr[ok].max())


def advantage(scores: object, labels: object) -> float:
    """Membership advantage max over thresholds of (TPR - FPR) (Yeom et al. 2018); 0 for a useless attack."""
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(np.max(tpr - fpr))


def balanced_accuracy(scores: object, labels: object, threshold: float | None = None) -> float:
    """Balanced accuracy (TPR + TNR) / 2 of the rule "member iff score >= threshold".

    With ``threshold=None`` the best threshold is chosen on these very labels: that is an ORACLE
    quantity, equal to (1 + advantage) / 2, and an upper bound on what an attacker can reach. Report a
    threshold calibrated on attacker-side (shadow) data whenever one exists.
    """
    s, y = check_scores_labels(scores, labels)
    if threshold is None:
        return 0.5 * (1.0 + advantage(s, y))
    if np.isnan(threshold):
        raise DeepLeakError("threshold is NaN; pass a number or None for the oracle balanced accuracy")
    pred = s >= float(threshold)
    tpr = float(pred[y == 1].mean())
    tnr = float((~pred[y == 0]).mean())
    return 0.5 * (tpr + tnr)


def best_threshold(scores: object, labels: object) -> tuple[float, float]:
    """Threshold maximising balanced accuracy on these labels, and that balanced accuracy.

    The threshold is the midpoint between the chosen tied-score group and the next lower score, so a
    threshold calibrated on shadow data does not sit exactly on a shadow sample. Meant for attacker-side
    calibration; on evaluation labels it is an oracle (see ``balanced_accuracy``).
    """
    fpr, tpr, thr = roc_curve(scores, labels)
    i = int(np.argmax(tpr - fpr))
    ba = 0.5 * (1.0 + float(tpr[i] - fpr[i]))
    if i == 0:
        return float(np.inf), ba
    if i == thr.shape[0] - 1 or not np.isfinite(thr[i + 1]) or not np.isfinite(thr[i]):
        return float(thr[i]), ba
    return float(0.5 * (thr[i] + thr[i + 1])), ba


def tpr_key(fpr: float) -> str:
    """Column name used by ``attack_metrics`` for TPR at FPR <= ``fpr``: 0.001 -> 'tpr_at_fpr_0.001'."""
    return f"tpr_at_fpr_{float(fpr):g}"


def attack_metrics(
    scores: object,
    labels: object,
    *,
    threshold: float | None = None,
    fprs: Sequence[float] = (0.001, 0.01),
) -> dict[str, float | int | bool]:
    """All headline numbers of one attack on one evaluation set, as a flat dict (one tidy-table row).

    Keys: ``auc``, ``balanced_accuracy``, ``balanced_accuracy_oracle`` (True when ``threshold`` is None,
    i.e. the balanced accuracy was picked on these labels), ``advantage``, ``tpr_at_fpr_<fpr>`` for each
    budget (``tpr_at_fpr_0.001`` = TPR at FPR <= 0.1%, ``tpr_at_fpr_0.01`` = at <= 1%; see ``tpr_key``),
    ``n_members``, ``n_nonmembers``.
    """
    s, y = check_scores_labels(scores, labels)
    out: dict[str, float | int | bool] = {
        "auc": auc(s, y),
        "balanced_accuracy": balanced_accuracy(s, y, threshold),
        "balanced_accuracy_oracle": threshold is None,
        "advantage": advantage(s, y),
    }
    for f in fprs:
        out[tpr_key(f)] = tpr_at_fpr(s, y, f)
    out["n_members"] = int(y.sum())
    out["n_nonmembers"] = int(y.shape[0] - y.sum())
    return out


def bootstrap_ci(
    scores: object,
    labels: object,
    metric_fn: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 200,
    alpha: float = 0.05,
    seed: int,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric_fn(scores, labels)`` (Efron & Tibshirani 1993).

    Members and non-members are resampled separately (stratified), so every replicate keeps the class
    sizes of the evaluation set and low-FPR metrics stay defined.
    """
    s, y = check_scores_labels(scores, labels)
    if int(n_boot) < 1:
        raise DeepLeakError(f"n_boot must be >= 1, got {n_boot}; use e.g. 200")
    if not 0.0 < float(alpha) < 1.0:
        raise DeepLeakError(f"alpha must lie in (0, 1), got {alpha}; use 0.05 for a 95% interval")
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y == 0)
    y_boot = np.r_[np.ones(pos.shape[0], np.int8), np.zeros(neg.shape[0], np.int8)]
    values = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        idx = np.r_[rng.choice(pos, pos.shape[0]), rng.choice(neg, neg.shape[0])]
        values[b] = float(metric_fn(s[idx], y_boot))
    lo, hi = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def summarize_over_seeds(
    df: pd.DataFrame, group_cols: Sequence[str], metric_cols: Sequence[str]
) -> pd.DataFrame:
    """Mean and sample standard deviation (ddof=1; NaN for a single seed) of metrics per group.

    Returns one row per group with the group columns, ``<metric>_mean``, ``<metric>_std`` and
    ``n_seeds`` (rows in the group).
    """
    missing = [c for c in [*group_cols, *metric_cols] if c not in df.columns]
    if missing:
        raise DeepLeakError(f"columns {missing} are not in the table; choose from {list(df.columns)}")
    if not metric_cols:
        raise DeepLeakError("metric_cols is empty; name at least one metric column to summarise")
    grouped = df.groupby(list(group_cols), dropna=False, sort=True)
    stats = grouped[list(metric_cols)].agg(["mean", "std"])
    stats.columns = [f"{metric}_{stat}" for metric, stat in stats.columns]
    stats["n_seeds"] = grouped.size()
    return stats.reset_index()
