"""Per-sample scalar signals the attacks consume: statistics of attribution maps and of predictions.

Map statistics follow Shokri, Strobel and Zick, "On the Privacy Risks of Model Explanations" (AIES
2021: variance and norms of the gradient explanation) and Huang et al. 2024 (VAR-LRT, L1/L2-LRT);
entropy and the Gini index (Hurley and Rickard, IEEE Trans. Inf. Theory 2009) measure sparsity,
which DeepLeak names as a root cause of leakage. The logit-scaled confidence is that of Carlini et
al., "Membership Inference Attacks From First Principles" (IEEE S&P 2022).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..errors import DeepLeakError, unknown_name
from ..signals import SIGNAL_NAMES, compute_signals

__all__ = [
    "MAP_STATISTICS",
    "logit_confidence",
    "logit_confidence_from_logits",
    "loss_from_probs",
    "map_statistic",
    "map_statistics",
]

_TINY = np.finfo(np.float64).tiny


def _flat(maps: object) -> np.ndarray:
    a = np.asarray(maps, dtype=np.float64)
    if a.ndim < 2 or a.shape[0] == 0:
        raise DeepLeakError(
            f"maps must have shape (N, ...) with N >= 1 and one map per sample, got {a.shape}"
        )
    if not np.isfinite(a).all():
        raise DeepLeakError("maps contain NaN or infinite values; fix the explainer output first")
    return a.reshape(a.shape[0], -1)


# One definition of every map statistic, shared with the explanation engine (``deepleak_lib.signals``),
# so an attack thresholds exactly the numbers the book tabulates.
MAP_STATISTICS: tuple[str, ...] = SIGNAL_NAMES


def map_statistic(maps: object, name: str) -> np.ndarray:
    """One scalar per map (N,), any name of ``deepleak_lib.signals.SIGNAL_NAMES`` (variance, l1, l2, ...)."""
    if name not in MAP_STATISTICS:
        raise unknown_name("map statistic", name, MAP_STATISTICS)
    return compute_signals(_flat(maps))[name].astype(np.float64)


def map_statistics(maps: object, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Several statistics per map stacked as (N, len(names)), in the order given."""
    for n in names:
        if n not in MAP_STATISTICS:
            raise unknown_name("map statistic", n, MAP_STATISTICS)
    sig = compute_signals(_flat(maps))
    return np.stack([sig[n].astype(np.float64) for n in names], axis=1)


def _probs_labels(probs: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2 or y.ndim != 1 or p.shape[0] != y.shape[0]:
        raise DeepLeakError(f"need probs (N, K) and class labels (N,), got {p.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise DeepLeakError(f"class labels must be integers in [0, {p.shape[1] - 1}]; pass the true classes")
    if not np.isfinite(p).all():
        raise DeepLeakError("probs contain NaN or infinite values; pass softmax outputs")
    return p, y.astype(np.int64)


def loss_from_probs(probs: object, labels: object) -> np.ndarray:
    """Cross-entropy loss -log p_y per sample (N,), with p_y clipped at the smallest positive float."""
    p, y = _probs_labels(probs, labels)
    return -np.log(np.maximum(p[np.arange(y.shape[0]), y], _TINY))


def logit_confidence(probs: object, labels: object) -> np.ndarray:
    """Logit-scaled confidence log(p_y) - log(1 - p_y) per sample (Carlini et al. 2022).

    1 - p_y is computed as the sum of the other classes' probabilities, which keeps precision when
    p_y rounds to 1. Prefer ``logit_confidence_from_logits`` when logits are at hand.
    """
    p, y = _probs_labels(probs, labels)
    idx = np.arange(y.shape[0])
    p_y = p[idx, y]
    # 1 - p_y cancels catastrophically when p_y ~ 1; sum the other classes explicitly instead.
    mask = np.ones_like(p, dtype=bool)
    mask[idx, y] = False
    rest = np.where(mask, p, 0.0).sum(axis=1)
    return np.log(np.maximum(p_y, _TINY)) - np.log(np.maximum(rest, _TINY))


def logit_confidence_from_logits(logits: object, labels: object) -> np.ndarray:
    """Same as ``logit_confidence`` from raw logits z: z_y - logsumexp(z_{-y}), exact for any margin."""
    z, y = _probs_labels(logits, labels)
    idx = np.arange(y.shape[0])
    others = z.copy()
    others[idx, y] = -np.inf
    return z[idx, y] - logsumexp(others, axis=1)
