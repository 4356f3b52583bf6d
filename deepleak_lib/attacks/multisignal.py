"""Multi-signal membership inference: several per-sample statistics under the same reference models.

Each statistic (loss or logit-scaled confidence, map variance, L1, L2, entropy, Gini, ...) gets its
per-sample IN/OUT Gaussians as in LiRA (Carlini et al., IEEE S&P 2022; Huang et al. 2024 for map
statistics). Two ways to combine them, both fitted on attacker-side reference models only:

* ``joint_lira`` / ``MultiSignalLiRA``: a joint likelihood ratio. ``naive_bayes`` sums the
  per-statistic log-LRs (signals treated as independent given membership); offline it sums the
  one-sided -log p-values, i.e. Fisher's method. ``mvn`` is a multivariate Gaussian per sample whose
  per-statistic scales are those of the per-statistic fits and whose correlation matrix is pooled over
  all samples (the full covariance with ``fix_variance=True``), so correlated nuisance between
  statistics cancels out.
* ``CalibratedMultiSignal``: a classifier (standardised logistic regression or histogram gradient
  boosting) over the per-statistic LiRA scores (online log-LRs, signed-log squashed, and offline
  standardised deviations), trained by leave-one-out on the reference pool: each
  chosen reference model acts as a pseudo-target scored against the others, labelled by its own keep
  mask. Target labels are never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from scipy.stats import norm
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import DeepLeakError
from ..metrics import best_threshold
from .base import Attack, ReferenceSet, TargetQuery
from .lira import LiRAGaussians, fit_lira_gaussians, lira_scores

__all__ = [
    "CalibratedMultiSignal",
    "JointLiRA",
    "MultiSignalLiRA",
    "fit_joint_lira",
    "joint_lira",
    "joint_lira_scores",
]

Method = Literal["naive_bayes", "mvn"]
Classifier = Literal["logistic", "hgb"]


def _check3(reference_stats: object, keep: object) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(reference_stats, dtype=np.float64)
    if s.ndim == 2:
        s = s[..., None]
    if s.ndim != 3:
        raise DeepLeakError(f"reference_stats must be [n_models, n_samples, n_signals], got {s.shape}")
    k = np.asarray(keep)
    if k.shape != s.shape[:2]:
        raise DeepLeakError(f"keep mask shape {k.shape} must equal [n_models, n_samples] = {s.shape[:2]}")
    return s, k.astype(bool)


@dataclass(frozen=True)
class JointLiRA:
    """Fitted joint model: one LiRA fit per statistic, plus pooled correlations for ``mvn``."""

    method: str
    online: bool
    per_signal: tuple[LiRAGaussians, ...]
    corr_inv_in: np.ndarray | None = None
    corr_inv_out: np.ndarray | None = None
    logdet_in: float = 0.0
    logdet_out: float = 0.0


def _pooled_corr(
    s: np.ndarray, mask: np.ndarray, mu: np.ndarray, var: np.ndarray, eps: float
) -> np.ndarray | None:
    z = np.where(mask[..., None], (s - mu[None]) / np.sqrt(var)[None], 0.0)
    dof = np.maximum(mask.sum(axis=0) - 1, 0).sum()
    if dof == 0:
        return None
    c = np.einsum("mns,mnt->st", z, z) / dof
    d = np.sqrt(np.clip(np.diag(c), eps, None))
    # A small ridge keeps the matrix invertible when two statistics are (nearly) collinear.
    return c / np.outer(d, d) + 1e-6 * np.eye(c.shape[0])


def fit_joint_lira(
    reference_stats: object,
    keep: object,
    *,
    method: Method = "naive_bayes",
    online: bool = True,
    fix_variance: bool = False,
    eps: float = 1e-8,
) -> JointLiRA:
    """Fit the joint model on reference stats [n_models, n_samples, n_signals] and keep [n_models, n_samples]."""
    if method not in ("naive_bayes", "mvn"):
        raise DeepLeakError(f"unknown method {method!r}; choose one of: mvn, naive_bayes")
    if method == "mvn" and not online:
        raise DeepLeakError(
            "the multivariate test is online only; use method='naive_bayes' for offline (Fisher)"
        )
    s, k = _check3(reference_stats, keep)
    fits = tuple(
        fit_lira_gaussians(s[..., j], k, online=online, fix_variance=fix_variance, eps=eps)
        for j in range(s.shape[2])
    )
    if method == "naive_bayes":
        return JointLiRA(method, online, fits)
    mu_in = np.stack([g.mu_in for g in fits], axis=1)  # type: ignore[arg-type]
    var_in = np.stack([g.var_in for g in fits], axis=1)  # type: ignore[arg-type]
    mu_out = np.stack([g.mu_out for g in fits], axis=1)
    var_out = np.stack([g.var_out for g in fits], axis=1)
    r_in = _pooled_corr(s, k, mu_in, var_in, eps)
    r_out = _pooled_corr(s, ~k, mu_out, var_out, eps)
    # A side without two references on any sample borrows the other side's correlation (else independence).
    eye = np.eye(s.shape[2])
    r_in = r_in if r_in is not None else (r_out if r_out is not None else eye)
    r_out = r_out if r_out is not None else r_in
    return JointLiRA(
        method,
        online,
        fits,
        corr_inv_in=np.linalg.inv(r_in),
        corr_inv_out=np.linalg.inv(r_out),
        logdet_in=float(np.linalg.slogdet(r_in)[1]),
        logdet_out=float(np.linalg.slogdet(r_out)[1]),
    )


def per_signal_scores(target_stats: np.ndarray, model: JointLiRA) -> np.ndarray:
    """LiRA score of each statistic separately, (n_samples, n_signals)."""
    t = np.asarray(target_stats, dtype=np.float64)
    t = t[:, None] if t.ndim == 1 else t
    if t.ndim != 2 or t.shape[1] != len(model.per_signal):
        raise DeepLeakError(f"target stats must be (n_samples, {len(model.per_signal)}), got {t.shape}")
    return np.stack([lira_scores(t[:, j], g) for j, g in enumerate(model.per_signal)], axis=1)


def _mvn_logpdf(
    x: np.ndarray, mu: np.ndarray, var: np.ndarray, corr_inv: np.ndarray, logdet: float
) -> np.ndarray:
    sd = np.sqrt(var)
    u = (x - mu) / sd
    quad = np.einsum("ns,st,nt->n", u, corr_inv, u)
    return -0.5 * quad - np.log(sd).sum(axis=1) - 0.5 * logdet


def joint_lira_scores(target_stats: object, model: JointLiRA) -> np.ndarray:
    """Joint score per target sample (higher = member) under a fitted ``JointLiRA``."""
    per = per_signal_scores(np.asarray(target_stats), model)
    if model.method == "naive_bayes":
        # Online: per-statistic log-LRs add. Offline: the scores are z-values; Fisher adds -log p.
        return per.sum(axis=1) if model.online else (-norm.logsf(per)).sum(axis=1)
    t = np.asarray(target_stats, dtype=np.float64)
    t = t[:, None] if t.ndim == 1 else t
    fits = model.per_signal
    mu_in = np.stack([g.mu_in for g in fits], axis=1)  # type: ignore[arg-type]
    var_in = np.stack([g.var_in for g in fits], axis=1)  # type: ignore[arg-type]
    mu_out = np.stack([g.mu_out for g in fits], axis=1)
    var_out = np.stack([g.var_out for g in fits], axis=1)
    assert model.corr_inv_in is not None and model.corr_inv_out is not None
    return _mvn_logpdf(t, mu_in, var_in, model.corr_inv_in, model.logdet_in) - _mvn_logpdf(
        t, mu_out, var_out, model.corr_inv_out, model.logdet_out
    )


def joint_lira(
    target_stats: object,
    reference_stats: object,
    keep: object,
    *,
    method: Method = "naive_bayes",
    online: bool = True,
    fix_variance: bool = False,
    eps: float = 1e-8,
) -> np.ndarray:
    """Joint LiRA over several statistics: target_stats (n_samples, n_signals) -> scores (n_samples,)."""
    model = fit_joint_lira(
        reference_stats, keep, method=method, online=online, fix_variance=fix_variance, eps=eps
    )
    return joint_lira_scores(target_stats, model)


def _squash(x: np.ndarray) -> np.ndarray:
    # Per-sample log-LRs are heavy-tailed when a handful of references estimate a variance; a signed
    # log keeps the order but stops a few extreme rows from dominating the logistic fit.
    return np.sign(x) * np.log1p(np.abs(x))


def _feature_models(s: np.ndarray, k: np.ndarray, *, online: bool, **kwargs: Any) -> tuple[JointLiRA, ...]:
    offline = fit_joint_lira(s, k, method="naive_bayes", online=False, **kwargs)
    return (
        (fit_joint_lira(s, k, method="naive_bayes", online=True, **kwargs), offline) if online else (offline,)
    )


def _features(target_stats: np.ndarray, models: tuple[JointLiRA, ...]) -> np.ndarray:
    # Online log-LRs per statistic, plus the signed standardised deviations from the OUT Gaussians:
    # a linear model over the latter can cancel nuisance that several statistics share.
    cols = [
        _squash(per_signal_scores(target_stats, m)) if m.online else per_signal_scores(target_stats, m)
        for m in models
    ]
    return np.concatenate(cols, axis=1)


def _loo_features(
    s: np.ndarray, k: np.ndarray, models: np.ndarray, **kwargs: Any
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    feats, labels = [], []
    for i in models:
        others = np.arange(s.shape[0]) != i
        feats.append(_features(s[i], _feature_models(s[others], k[others], **kwargs)))
        labels.append(k[i].astype(np.int8))
    return feats, labels


class MultiSignalLiRA(Attack):
    """Joint LiRA over several statistics (see module docstring) as an ``Attack``.

    ``fit``: ``ReferenceSet`` with stats [M, N, S]; ``score``: ``TargetQuery`` with features (N, S),
    the target model's statistics on the same pool, columns in the order of ``signals``.
    """

    name: ClassVar[str] = "multisignal_lira"
    data_type: ClassVar[type] = ReferenceSet

    def __init__(
        self,
        *,
        signals: tuple[str, ...] = (),
        method: Method = "naive_bayes",
        online: bool = True,
        fix_variance: bool = False,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        if method not in ("naive_bayes", "mvn"):
            raise DeepLeakError(f"unknown method {method!r}; choose one of: mvn, naive_bayes")
        self.signals = tuple(signals)
        self.method: Method = method
        self.online = bool(online)
        self.fix_variance = bool(fix_variance)
        self.eps = float(eps)
        self.model_: JointLiRA | None = None

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "signals": list(self.signals),
            "method": self.method,
            "online": self.online,
            "fix_variance": self.fix_variance,
            "eps": self.eps,
        }

    def _kw(self) -> dict[str, Any]:
        return {k: v for k, v in self.hyperparameters().items() if k != "signals"}

    def _fit(self, data: ReferenceSet, *, seed: int) -> None:
        del seed  # deterministic given the references
        data.validate(n_signals=len(self.signals) or None)
        s, k = _check3(data.stats, data.keep)
        self.model_ = fit_joint_lira(s, k, **self._kw())
        self.threshold_ = None
        if s.shape[0] >= 3:
            # Calibrate a decision threshold by leave-one-out over the references, never on the target.
            scores, labels = [], []
            for i in range(s.shape[0]):
                others = np.arange(s.shape[0]) != i
                scores.append(joint_lira_scores(s[i], fit_joint_lira(s[others], k[others], **self._kw())))
                labels.append(k[i].astype(np.int8))
            y = np.concatenate(labels)
            if 0 < y.sum() < y.size:
                self.threshold_, _ = best_threshold(np.concatenate(scores), y)

    def _score(self, query: TargetQuery) -> np.ndarray:
        assert self.model_ is not None
        return joint_lira_scores(query.features, self.model_)


class CalibratedMultiSignal(Attack):
    """Classifier over per-statistic LiRA scores, trained leave-one-out on the reference pool.

    Up to ``n_pseudo_targets`` reference models (drawn with ``seed``; None = all) each play the target
    against the remaining M-1 references; their keep masks label the training rows. The target is then
    scored against all M references, so it sees slightly sharper Gaussians than the pseudo-targets did.
    Scores are the classifier's decision function (log-odds), which does not saturate at low FPR.
    """

    name: ClassVar[str] = "multisignal_calibrated"
    data_type: ClassVar[type] = ReferenceSet

    def __init__(
        self,
        *,
        signals: tuple[str, ...] = (),
        classifier: Classifier = "logistic",
        online: bool = True,
        fix_variance: bool = False,
        eps: float = 1e-8,
        n_pseudo_targets: int | None = None,
        c: float = 1.0,
    ) -> None:
        super().__init__()
        if classifier not in ("logistic", "hgb"):
            raise DeepLeakError(f"unknown classifier {classifier!r}; choose one of: hgb, logistic")
        if n_pseudo_targets is not None and n_pseudo_targets < 1:
            raise DeepLeakError(f"n_pseudo_targets must be >= 1 or None (all), got {n_pseudo_targets}")
        self.signals = tuple(signals)
        self.classifier: Classifier = classifier
        self.online = bool(online)
        self.fix_variance = bool(fix_variance)
        self.eps = float(eps)
        self.n_pseudo_targets = n_pseudo_targets
        self.c = float(c)
        self.models_: tuple[JointLiRA, ...] | None = None
        self.clf_: Any = None

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "signals": list(self.signals),
            "classifier": self.classifier,
            "online": self.online,
            "fix_variance": self.fix_variance,
            "eps": self.eps,
            "n_pseudo_targets": self.n_pseudo_targets,
            "c": self.c,
        }

    def _fit(self, data: ReferenceSet, *, seed: int) -> None:
        data.validate(min_models=3, n_signals=len(self.signals) or None)
        s, k = _check3(data.stats, data.keep)
        kw = {"online": self.online, "fix_variance": self.fix_variance, "eps": self.eps}
        rng = np.random.default_rng(seed)
        n_pt = s.shape[0] if self.n_pseudo_targets is None else min(self.n_pseudo_targets, s.shape[0])
        chosen = np.sort(rng.permutation(s.shape[0])[:n_pt])
        feats, labels = _loo_features(s, k, chosen, **kw)
        x, y = np.concatenate(feats), np.concatenate(labels)
        if not 0 < y.sum() < y.size:
            raise DeepLeakError(
                "pseudo-target keep masks hold one class only; use keep masks with both IN and OUT"
            )
        if self.classifier == "logistic":
            self.clf_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.c, max_iter=1000))
        else:
            self.clf_ = HistGradientBoostingClassifier(random_state=seed)
        self.clf_.fit(x, y)
        self.threshold_, _ = best_threshold(self.clf_.decision_function(x), y)
        self.models_ = _feature_models(s, k, **kw)

    def _score(self, query: TargetQuery) -> np.ndarray:
        assert self.models_ is not None
        x = _features(np.asarray(query.features), self.models_)
        return np.asarray(self.clf_.decision_function(x))
