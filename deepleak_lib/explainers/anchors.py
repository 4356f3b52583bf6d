"""Anchors for images (Ribeiro, Singh & Guestrin, "Anchors: High-Precision Model-Agnostic
Explanations", AAAI 2018) over SLIC superpixels.

An anchor is a set A of superpixels. Its precision is the probability that the model still predicts
the explained class when the superpixels in A are kept and every other superpixel is kept with
probability ``p_present`` and otherwise replaced by the fill value ``baseline``. Beam search
(Ribeiro et al., Alg. 2) grows anchors one superpixel per round, keeping the ``beam_size`` most
precise, and returns the first anchor (so the smallest, i.e. of largest coverage, p_present^|A|)
whose estimated precision reaches ``threshold``; among several of that size, the most precise. If
none reaches it within ``max_anchor_size`` superpixels, the most precise anchor seen is returned.

Simplification, documented: precision is estimated with a fixed ``n_samples`` perturbations per
candidate instead of the paper's KL-LUCB bandit, which keeps the cost fixed and batchable.
The explanation map is the binary anchor mask, broadcast over channels by the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from .context import BatchFn, RunContext, numpy_rng
from .superpixels import slic_from_settings

Predictor = Callable[[np.ndarray], np.ndarray]  # (R, F) bool presence masks -> (R,) predicted labels


def anchor_search(
    predict: Predictor,
    n_features: int,
    target: int,
    *,
    threshold: float,
    beam_size: int,
    n_samples: int,
    max_anchor_size: int,
    p_present: float,
    rng: np.random.Generator,
) -> tuple[tuple[int, ...], float]:
    """Beam search for an anchor over ``n_features`` features; returns (anchor, estimated precision)."""
    beam: list[tuple[int, ...]] = [()]
    best: tuple[tuple[int, ...], float] = ((), -1.0)
    for _size in range(1, min(max_anchor_size, n_features) + 1):
        candidates = sorted({tuple(sorted((*a, f))) for a in beam for f in range(n_features) if f not in a})
        masks = rng.random((len(candidates), n_samples, n_features)) < p_present
        for ci, cand in enumerate(candidates):
            masks[ci][:, list(cand)] = True
        hits = predict(masks.reshape(-1, n_features)).reshape(len(candidates), n_samples) == target
        precision = hits.mean(axis=1)
        ranked = np.argsort(-precision, kind="stable")  # ties keep the sorted candidate order
        top = int(ranked[0])
        if precision[top] >= threshold:
            return candidates[top], float(precision[top])
        if precision[top] > best[1]:
            best = (candidates[top], float(precision[top]))
        beam = [candidates[i] for i in ranked[:beam_size]]
    return best


def build_anchors(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        segs = torch.from_numpy(slic_from_settings(x, s)).to(x.device)
        maps = torch.zeros((x.shape[0], 1, *x.shape[2:]), device=x.device)
        for i in range(x.shape[0]):
            seg = segs[i]
            xi = x[i : i + 1]
            fill = torch.full_like(xi, s["baseline"])

            def predict(presence: np.ndarray, seg: torch.Tensor = seg, xi: torch.Tensor = xi,
                        fill: torch.Tensor = fill) -> np.ndarray:
                keep = torch.from_numpy(presence).to(x.device)[:, seg].unsqueeze(1)  # (R, 1, H, W)
                preds = []
                with torch.inference_mode():
                    for chunk in keep.split(ctx.max_rows):
                        preds.append(model(torch.where(chunk, xi, fill)).argmax(1))
                return torch.cat(preds).cpu().numpy()

            anchor, _ = anchor_search(
                predict,
                int(seg.max().item()) + 1,
                int(t[i]),
                threshold=s["threshold"],
                beam_size=s["beam_size"],
                n_samples=s["n_samples"],
                max_anchor_size=s["max_anchor_size"],
                p_present=s["p_present"],
                rng=numpy_rng(ctx.seed, start + i),
            )
            if anchor:
                maps[i, 0] = torch.isin(seg, torch.tensor(anchor, device=x.device)).float()
        return maps

    return run
