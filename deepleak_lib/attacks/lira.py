"""Likelihood-ratio attack (LiRA) on any per-sample statistic.

Carlini et al., "Membership Inference Attacks From First Principles" (IEEE S&P 2022) fit, for every
sample, one Gaussian to a statistic under reference models that trained on it (IN) and one under
models that did not (OUT). Huang et al. 2024 (VAR-LRT, L1-LRT, L2-LRT) apply the same test to the
variance and norms of an attribution map. Online: score = log N(s; mu_in, var_in) - log N(s; mu_out,
var_out). Offline (OUT only): score = d * (s - mu_out) / sd_out, the standardised deviation in the
direction d members move; it ranks samples exactly like LiRA's one-sided -log P[Z_out beyond s]
(``scipy.stats.norm.logsf`` of it is a monotone transform) without saturating.

Departures from Carlini et al.'s code, all documented choices: means are per-sample means (not
medians); variances are unbiased (ddof=1); the "fixed" variance is the pooled within-sample
variance (not the spread of all values, which also counts the spread of per-sample means).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ..errors import DeepLeakError
from ..metrics import best_threshold
from .base import Attack, ReferenceSet, TargetQuery

__all__ = ["LiRAAttack", "LiRAGaussians", "fit_lira_gaussians", "lira", "lira_leave_one_out", "lira_scores"]

Direction = Literal["auto", 1, -1]


@dataclass(frozen=True)
class LiRAGaussians:
    """Per-sample IN/OUT Gaussians (variances include eps) and the learned member direction."""

    mu_in: np.ndarray | None
    var_in: np.ndarray | None
    mu_out: np.ndarray
    var_out: np.ndarray
    direction: int
    online: bool


def _check(reference_stats: object, keep: object) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(reference_stats, dtype=np.float64)
    k = np.asarray(keep)
    if s.ndim != 2 or s.shape[0] < 1 or s.shape[1] < 1:
        raise DeepLeakError(f"reference_stats must be [n_models, n_samples] with both >= 1, got {s.shape}")
    if k.shape != s.shape:
        raise DeepLeakError(f"keep mask shape {k.shape} must equal reference_stats shape {s.shape}")
    if k.dtype != bool:
        if not np.isin(k, (0, 1)).all():
            raise DeepLeakError(
                "keep mask must be boolean (True = the reference model trained on the sample)"
            )
        k = k.astype(bool)
    if not np.isfinite(s).all():
        raise DeepLeakError("reference_stats contain NaN or infinite values; fix the statistic first")
    return s, k


def _side(s: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per-sample mean, unbiased variance (NaN under 2 values), counts, pooled within-sample variance."""
    cnt = mask.sum(axis=0)
    total = np.where(mask, s, 0.0).sum(axis=0)
    mu = np.divide(total, cnt, out=np.full(cnt.shape, np.nan), where=cnt > 0)
    resid2 = np.where(mask, (s - np.nan_to_num(mu)) ** 2, 0.0).sum(axis=0)
    var = np.divide(resid2, cnt - 1, out=np.full(cnt.shape, np.nan), where=cnt >= 2)
    dof = np.maximum(cnt - 1, 0).sum()
    pooled = float(resid2.sum() / dof) if dof > 0 else float("nan")
    return mu, var, cnt, pooled


def fit_lira_gaussians(
    reference_stats: object,
    keep: object,
    *,
    online: bool = True,
    fix_variance: bool = False,
    eps: float = 1e-8,
    direction: Direction = "auto",
) -> LiRAGaussians:
    """Fit per-sample IN/OUT Gaussians from reference models (attacker knowledge only).

    Fallbacks, so every sample gets a score: a sample with no IN (OUT) reference takes mu_out + delta
    (mu_in - delta), where delta is the mean IN-OUT shift over samples that have both; a sample with
    fewer than two references on a side takes that side's pooled variance (else the other side's).
    The offline direction is sign(delta) over the references (``direction='auto'``), never evaluation
    labels; with no IN reference at all, pass ``direction=+1`` or ``-1`` explicitly.
    """
    s, k = _check(reference_stats, keep)
    if not eps > 0:
        raise DeepLeakError(f"eps must be > 0, got {eps}; use e.g. 1e-8")
    if direction not in ("auto", 1, -1):
        raise DeepLeakError(f"direction must be 'auto', 1 or -1, got {direction!r}")
    mu_in, var_in, cnt_in, pooled_in = _side(s, k)
    mu_out, var_out, cnt_out, pooled_out = _side(s, ~k)
    if cnt_out.sum() == 0:
        raise DeepLeakError(
            "every reference model trained on every sample; LiRA needs OUT references (keep=False)"
        )
    if online and cnt_in.sum() == 0:
        raise DeepLeakError(
            "no reference model trained on any sample; online LiRA needs IN references, use online=False"
        )
    both = (cnt_in > 0) & (cnt_out > 0)
    if both.any():
        delta = float(np.mean(mu_in[both] - mu_out[both]))
    elif cnt_in.sum() > 0:
        delta = float(s[k].mean() - s[~k].mean())
    else:
        delta = float("nan")
    if np.isnan(delta) and (cnt_out == 0).any():
        raise DeepLeakError(
            "some samples have no OUT reference and no IN-OUT shift can be estimated; add references"
        )
    mu_out = np.where(cnt_out > 0, mu_out, np.nan_to_num(mu_in) - np.nan_to_num(delta))
    pooled_out = pooled_out if np.isfinite(pooled_out) else pooled_in
    if not np.isfinite(pooled_out):
        raise DeepLeakError(
            "cannot estimate a variance: give some sample at least two reference models on one side"
        )
    var_out = (
        np.full_like(mu_out, pooled_out) if fix_variance else np.where(np.isnan(var_out), pooled_out, var_out)
    )
    if direction == "auto":
        if np.isnan(delta):
            raise DeepLeakError(
                "no IN reference to learn which way members move; pass direction=+1 (members higher) or -1"
            )
        d = 1 if delta >= 0 else -1
    else:
        d = int(direction)
    if not online:
        return LiRAGaussians(None, None, mu_out, var_out + eps, d, False)
    mu_in = np.where(cnt_in > 0, mu_in, mu_out + delta)
    pooled_in = pooled_in if np.isfinite(pooled_in) else pooled_out
    var_in = np.full_like(mu_in, pooled_in) if fix_variance else np.where(np.isnan(var_in), pooled_in, var_in)
    return LiRAGaussians(mu_in, var_in + eps, mu_out, var_out + eps, d, True)


def lira_scores(target_stat: object, g: LiRAGaussians) -> np.ndarray:
    """Score target statistics against fitted Gaussians; higher = member."""
    t = np.asarray(target_stat, dtype=np.float64)
    if t.ndim != 1 or t.shape[0] != g.mu_out.shape[0]:
        raise DeepLeakError(
            f"target_stat must have shape ({g.mu_out.shape[0]},), one value per reference-pool sample, got {t.shape}"
        )
    if not np.isfinite(t).all():
        raise DeepLeakError("target_stat contains NaN or infinite values; fix the statistic first")
    if not g.online:
        return g.direction * (t - g.mu_out) / np.sqrt(g.var_out)
    assert g.mu_in is not None and g.var_in is not None
    log_in = -0.5 * np.log(g.var_in) - (t - g.mu_in) ** 2 / (2.0 * g.var_in)
    log_out = -0.5 * np.log(g.var_out) - (t - g.mu_out) ** 2 / (2.0 * g.var_out)
    return log_in - log_out


def lira(
    target_stat: object,
    reference_stats: object,
    keep: object,
    *,
    online: bool = True,
    fix_variance: bool = False,
    eps: float = 1e-8,
    direction: Direction = "auto",
) -> np.ndarray:
    """LiRA scores [n_samples] for a target's statistic given [n_models, n_samples] reference statistics.

    ``keep[m, n]`` is True when reference model m trained on sample n. Online: Gaussian log-likelihood
    ratio; offline: standardised one-sided deviation from the OUT Gaussian (see module docstring).
    """
    g = fit_lira_gaussians(
        reference_stats, keep, online=online, fix_variance=fix_variance, eps=eps, direction=direction
    )
    return lira_scores(target_stat, g)


def lira_leave_one_out(stats: object, keep: object, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Carlini et al.'s evaluation over a pool: each model in turn is the target, the others the references.

    Returns ``(scores, labels)``, both [n_models, n_samples]; labels are the held-out model's keep mask
    (1 = member). ``kwargs`` go to ``lira``.
    """
    s, k = _check(stats, keep)
    if s.shape[0] < 2:
        raise DeepLeakError(
            f"leave-one-out needs at least 2 models, got {s.shape[0]}; train more reference models"
        )
    scores = np.empty_like(s)
    for i in range(s.shape[0]):
        others = np.arange(s.shape[0]) != i
        scores[i] = lira(s[i], s[others], k[others], **kwargs)
    return scores, k.astype(np.int8)


class LiRAAttack(Attack):
    """Explanation-LiRA (Huang et al. 2024; Carlini et al. 2022) as an ``Attack``.

    ``fit`` takes a ``ReferenceSet`` with stats [M, N]; ``score`` takes a ``TargetQuery`` whose
    features are the target model's statistic on the same N pool samples. ``threshold_`` is calibrated
    by leave-one-out over the reference pool (needs M >= 3), never on the target.
    """

    name: ClassVar[str] = "lira"
    data_type: ClassVar[type] = ReferenceSet

    def __init__(
        self,
        *,
        signal: str = "stat",
        online: bool = True,
        fix_variance: bool = False,
        eps: float = 1e-8,
        direction: Direction = "auto",
    ) -> None:
        super().__init__()
        self.signal = signal
        self.online = bool(online)
        self.fix_variance = bool(fix_variance)
        self.eps = float(eps)
        self.direction = direction
        self.gaussians_: LiRAGaussians | None = None

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "online": self.online,
            "fix_variance": self.fix_variance,
            "eps": self.eps,
            "direction": self.direction,
        }

    def _kwargs(self) -> dict[str, Any]:
        return {
            "online": self.online,
            "fix_variance": self.fix_variance,
            "eps": self.eps,
            "direction": self.direction,
        }

    def _fit(self, data: ReferenceSet, *, seed: int) -> None:
        del seed  # LiRA's fit is deterministic given the references
        data.validate(n_signals=1)
        stats = np.asarray(data.stats, dtype=np.float64)
        stats = stats[..., 0] if stats.ndim == 3 else stats
        keep = np.asarray(data.keep).astype(bool)
        self.gaussians_ = fit_lira_gaussians(stats, keep, **self._kwargs())
        self.threshold_ = None
        if stats.shape[0] >= 3:
            loo, labels = lira_leave_one_out(stats, keep, **self._kwargs())
            if 0 < labels.sum() < labels.size:
                self.threshold_, _ = best_threshold(loo.ravel(), labels.ravel())

    def _score(self, query: TargetQuery) -> np.ndarray:
        assert self.gaussians_ is not None
        x = np.asarray(query.features, dtype=np.float64)
        x = x[:, 0] if x.ndim == 2 and x.shape[1] == 1 else x
        return lira_scores(x, self.gaussians_)
