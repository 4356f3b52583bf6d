"""Per-sample scalar signals of attribution maps: the statistics prior attacks threshold on.

Shokri, Strobel & Zick (AIES 2021) threshold the variance of a gradient explanation (and its norms);
Huang et al. (2024) run a likelihood-ratio test on such scalars; the DeepLeak paper ties leakage to
attribution sparsity. ``compute_signals`` returns one value per sample (the first axis of ``maps``)
for each name in ``SIGNAL_NAMES``; everything is computed in float64 on the flattened map a of n
entries, with |a| its absolute values.

All-zero maps (e.g. Grad-CAM with every weight negative, or a fully masked hardened map) have no
distribution of mass: they get variance = l1 = l2 = linf = 0, gini = hoyer = entropy = topk_mass = 0
and near_zero_frac = 1. So they are finite and stay distinguishable from a constant non-zero map
(gini 0 and hoyer 0 too, but entropy log n and topk_mass k/n).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import DeepLeakError

SIGNAL_NAMES: tuple[str, ...] = (
    "variance",
    "l1",
    "l2",
    "linf",
    "gini",
    "hoyer",
    "entropy",
    "near_zero_frac",
    "topk_mass",
)

_CHUNK = 1024  # rows per block: bounds the float64 copy and the sort for large map sets


def _gini(abs_sorted: np.ndarray, l1: np.ndarray) -> np.ndarray:
    """Gini index of Hurley & Rickard ("Comparing Measures of Sparsity", IEEE Trans. Inf. Theory 2009).

    With c_(1) <= ... <= c_(n) the sorted |a|: G = 1 - 2 sum_k (c_(k) / ||c||_1) (n - k + 1/2) / n.
    G = 0 for a constant vector and 1 - 1/n for a one-hot vector (the maximum for that n).
    """
    n = abs_sorted.shape[1]
    k = np.arange(1, n + 1, dtype=np.float64)
    weighted = abs_sorted @ ((n - k + 0.5) / n)
    safe = np.where(l1 > 0, l1, 1.0)
    return np.where(l1 > 0, 1.0 - 2.0 * weighted / safe, 0.0)


def _hoyer(l1: np.ndarray, l2: np.ndarray, n: int) -> np.ndarray:
    """Hoyer sparsity ("Non-negative Matrix Factorization with Sparseness Constraints", JMLR 2004).

    H = (sqrt(n) - ||a||_1 / ||a||_2) / (sqrt(n) - 1): 0 for a constant-magnitude vector, 1 for one-hot.
    Defined as 0 when n = 1 (no sparsity to speak of) or the map is all zero.
    """
    if n == 1:
        return np.zeros_like(l1)
    root = math.sqrt(n)
    ratio = np.divide(l1, l2, out=np.full_like(l1, root), where=l2 > 0)
    return np.where(l2 > 0, (root - ratio) / (root - 1.0), 0.0)


def _entropy(absval: np.ndarray, l1: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of p = |a| / ||a||_1, with 0 log 0 = 0; 0 for an all-zero map."""
    p = absval / np.where(l1 > 0, l1, 1.0)[:, None]
    logp = np.log(p, out=np.zeros_like(p), where=p > 0)
    return 0.0 - (p * logp).sum(axis=1)  # "0.0 -" avoids returning -0.0 for point masses


def compute_signals(
    maps: np.ndarray, *, topk_frac: float = 0.05, near_zero_tol: float = 1e-3
) -> dict[str, np.ndarray]:
    """One float64 value per sample for each name in ``SIGNAL_NAMES``.

    - variance: population variance (ddof 0) of the entries (Shokri et al., AIES 2021).
    - l1, l2, linf: the norms sum |a|, sqrt(sum a^2), max |a|.
    - gini: Hurley & Rickard (2009) Gini index of |a| (see ``_gini``).
    - hoyer: Hoyer (2004) sparsity (see ``_hoyer``).
    - entropy: Shannon entropy of |a| normalised to sum 1, in nats.
    - near_zero_frac: fraction of entries with |a| <= ``near_zero_tol`` (absolute tolerance; 1e-3 is
      the release's masking threshold).
    - topk_mass: share of sum |a| held by the k = max(1, ceil(topk_frac * n)) largest |a|.

    ``maps`` has shape (N, ...); each sample is flattened. All-zero maps: see the module docstring.
    """
    arr = np.asarray(maps)
    if arr.ndim < 2:
        raise DeepLeakError(f"maps must have shape (N, ...) with at least one entry per sample, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise DeepLeakError(f"maps must be real numbers, got dtype {arr.dtype}")
    if isinstance(topk_frac, bool) or not (0.0 < float(topk_frac) <= 1.0):
        raise DeepLeakError(f"topk_frac must be in (0, 1], got {topk_frac!r}")
    if isinstance(near_zero_tol, bool) or not (float(near_zero_tol) >= 0.0 and math.isfinite(near_zero_tol)):
        raise DeepLeakError(f"near_zero_tol must be a finite number >= 0, got {near_zero_tol!r}")
    n_samples = arr.shape[0]
    flat = arr.reshape(n_samples, -1)
    n = flat.shape[1]
    if n == 0:
        raise DeepLeakError("maps have no entries per sample")
    k = max(1, math.ceil(float(topk_frac) * n))
    out = {name: np.empty(n_samples, dtype=np.float64) for name in SIGNAL_NAMES}
    for lo in range(0, n_samples, _CHUNK):
        block = flat[lo : lo + _CHUNK].astype(np.float64)
        if not np.isfinite(block).all():
            raise DeepLeakError(f"maps contain NaN or infinite values (samples {lo}..{lo + len(block) - 1})")
        absval = np.abs(block)
        l1 = absval.sum(axis=1)
        l2 = np.sqrt(np.square(block).sum(axis=1))
        abs_sorted = np.sort(absval, axis=1)
        sl = slice(lo, lo + len(block))
        out["variance"][sl] = block.var(axis=1)
        out["l1"][sl] = l1
        out["l2"][sl] = l2
        out["linf"][sl] = abs_sorted[:, -1]
        out["gini"][sl] = _gini(abs_sorted, l1)
        out["hoyer"][sl] = _hoyer(l1, l2, n)
        out["entropy"][sl] = _entropy(absval, l1)
        out["near_zero_frac"][sl] = (absval <= near_zero_tol).mean(axis=1)
        top = abs_sorted[:, n - k :].sum(axis=1)
        out["topk_mass"][sl] = np.divide(top, l1, out=np.zeros_like(l1), where=l1 > 0)
    return out
