"""ProtoDash (Gurumoorthy, Dhurandhar, Cecchi & Aggarwal, "Efficient Data Representation by Selecting
Prototypes with Importance Weights", ICDM 2019), as an example-based explanation of one input.

For an input x and a reference pool {r_j}, ProtoDash maximises the set function
    l(w) = w^T mu - 1/2 w^T K w,   w >= 0,   mu_j = k(r_j, x),   K_ij = k(r_i, r_j),
with the Gaussian kernel k(a, b) = exp(-||a - b||^2 / (2 sigma^2)) on flattened inputs. It adds one
prototype at a time, the candidate with the largest gradient mu_j - (K w)_j, and re-solves the
non-negative quadratic program over the chosen set; it stops after ``n_prototypes`` or when no
candidate has a positive gradient (then fewer prototypes are returned). The explanation map is the
weighted sum of the prototype images, sum_j w_j r_j, as in the release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.linalg import cholesky, solve_triangular
from scipy.optimize import nnls
from torch import nn

from ..errors import DeepLeakError
from .context import BatchFn, RunContext, numpy_rng

# A gradient this small relative to the largest kernel value means "no candidate improves l(w)";
# exact zeros are blurred by the QP's rounding (e.g. when x itself is in the pool).
_GRAD_TOL = 1e-10
# Added to K's diagonal so that duplicated reference points keep the QP strictly convex.
_JITTER = 1e-10


def _log_kernel(points: np.ndarray, x: np.ndarray, sigma: float) -> np.ndarray:
    """log k(points_j, x) for every row j, from exact differences (no |a|^2 - 2ab + |b|^2 cancellation)."""
    d2 = np.square(points - x[None, :]).sum(axis=1)
    return -d2 / (2.0 * sigma * sigma)


def _nonneg_qp(q: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin_{w >= 0} 1/2 w^T Q w - b^T w for a positive-definite Q, via NNLS on the Cholesky factor."""
    lower = cholesky(q + _JITTER * np.eye(len(q)), lower=True)
    # 1/2 |L^T w - L^-1 b|^2 = 1/2 w^T Q w - b^T w + const
    w, _ = nnls(lower.T, solve_triangular(lower, b, lower=True))
    return w


def protodash_select(
    x: np.ndarray,
    pool: np.ndarray,
    *,
    n_prototypes: int,
    sigma: float,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy ProtoDash for one target point ``x`` (d,) over ``pool`` (M, d).

    Returns (indices into ``pool``, non-negative weights), in selection order. Exact gradient ties are
    broken by a random order from ``rng`` (pool order when None). The weights are those of the
    objective with mu rescaled so that max_j mu_j = 1: the selection and the weights' ratios are
    invariant to that scale, and it keeps far-away inputs (tiny kernel values) from underflowing.
    The returned weights are multiplied back by the true scale.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    pool = np.asarray(pool, dtype=np.float64).reshape(len(pool), -1)
    log_mu = _log_kernel(pool, x, sigma)
    shift = float(log_mu.max())
    mu = np.exp(log_mu - shift)
    order = rng.permutation(len(pool)) if rng is not None else np.arange(len(pool))
    chosen: list[int] = []
    columns = np.zeros((len(pool), 0))
    w = np.zeros(0)
    for _ in range(min(n_prototypes, len(pool))):
        grad = mu - columns @ w
        grad[chosen] = -np.inf
        j = int(order[np.argmax(grad[order])])  # first maximum in the tie-breaking order
        if grad[j] <= _GRAD_TOL:
            break
        chosen.append(j)
        columns = np.concatenate([columns, np.exp(_log_kernel(pool, pool[j], sigma))[:, None]], axis=1)
        w = _nonneg_qp(columns[chosen], mu[chosen])
    return np.asarray(chosen, dtype=np.int64), w * np.exp(shift)


def _predict(model: nn.Module, inputs: torch.Tensor, max_rows: int) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([model(chunk).argmax(1) for chunk in inputs.split(max_rows)])


def build_protodash(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    if ctx.reference_inputs is None or len(ctx.reference_inputs) == 0:
        raise DeepLeakError("explainer 'protodash' needs reference_inputs=<(M, C, H, W) array> to draw prototypes from")
    ref = ctx.reference_inputs
    pool = ref.detach().cpu().double().reshape(len(ref), -1).numpy()
    # Class filter: prototypes come from reference points the model assigns to the explained class,
    # which is what makes the explanation depend on the model at all.
    ref_pred = _predict(model, ref, ctx.max_rows).cpu().numpy() if s["class_filter"] == "target" else None

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        if tuple(x.shape[1:]) != tuple(ref.shape[1:]):
            raise DeepLeakError(
                f"protodash reference_inputs have shape {tuple(ref.shape[1:])}, inputs {tuple(x.shape[1:])}"
            )
        xs = x.detach().cpu().double().reshape(len(x), -1).numpy()
        maps = np.zeros_like(xs)
        for i in range(len(xs)):
            candidates = np.arange(len(pool))
            if ref_pred is not None:
                same = np.flatnonzero(ref_pred == int(t[i]))
                candidates = same if len(same) else candidates  # no reference of that class: use all
            idx, w = protodash_select(
                xs[i], pool[candidates], n_prototypes=s["n_prototypes"], sigma=s["sigma"],
                rng=numpy_rng(ctx.seed, start + i),
            )
            if s["normalize_weights"] and w.sum() > 0:
                w = w / w.sum()
            maps[i] = w @ pool[candidates[idx]] if len(idx) else 0.0
        return torch.from_numpy(maps.astype(np.float32)).reshape(x.shape)

    return run
