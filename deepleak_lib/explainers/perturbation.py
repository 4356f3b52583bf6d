"""Perturbation-family explainers, all computed by Captum.

Occlusion (Zeiler & Fergus, ECCV 2014) slides a window over the image; LIME (Ribeiro et al., KDD
2016), KernelSHAP (Lundberg & Lee, NeurIPS 2017), Shapley value sampling (Castro et al., Computers &
Operations Research 2009) and feature ablation perturb SLIC superpixels (see ``superpixels``). The
superpixel attributions are returned at input resolution: every pixel of a superpixel, in every
channel, carries that superpixel's value.

Batching and randomness: Occlusion and feature ablation are deterministic and run on whole batches,
with ``perturbations_per_eval`` chosen so a forward pass holds up to ``max_rows`` rows. LIME,
KernelSHAP and Shapley sampling are stochastic; Captum would share one random draw (and one feature
count) across a batch, so we call them one sample at a time, seeded from (seed, sample index), with
all of that sample's perturbations packed into as few forward passes as ``max_rows`` allows. Their
maps therefore do not depend on the batch size.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from captum._utils.models.linear_model import SkLearnLasso
from captum.attr import FeatureAblation, KernelShap, Lime, Occlusion, ShapleyValueSampling
from captum.attr._core.lime import get_exp_kernel_similarity_function
from torch import nn

from .context import BatchFn, RunContext, derive_seed, torch_seeded
from .superpixels import slic_from_settings


def occlusion_geometry(s: dict[str, Any], in_shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(sliding window, strides) for Captum's Occlusion on a (C, H, W) input.

    The window spans all channels and ``window_frac`` of each spatial side, rounded half up: 0.5 gives
    the release's 3x16x16 on 3x32x32 and 1x14x14 on 1x28x28. ``stride`` applies to H and W.
    """
    c, h, w = (int(v) for v in in_shape)
    wh = min(h, max(1, math.floor(s["window_frac"] * h + 0.5)))
    ww = min(w, max(1, math.floor(s["window_frac"] * w + 0.5)))
    return (c, wh, ww), (c, s["stride"], s["stride"])


def occlusion_windows(s: dict[str, Any], in_shape: tuple[int, ...]) -> int:
    """Number of window positions Captum evaluates (its formula: ceil((side - window) / stride) + 1)."""
    window, strides = occlusion_geometry(s, in_shape)
    n = 1
    for side, win, st in zip(in_shape, window, strides, strict=True):
        n *= math.ceil((side - win) / st) + 1
    return n


def build_occlusion(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = Occlusion(model)

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        window, strides = occlusion_geometry(s, tuple(x.shape[1:]))
        n_windows = occlusion_windows(s, tuple(x.shape[1:]))
        return explainer.attribute(
            x,
            sliding_window_shapes=window,
            strides=strides,
            baselines=s["baseline"],
            target=t,
            perturbations_per_eval=max(1, min(n_windows, ctx.max_rows // x.shape[0])),
        )

    return run


def build_featureablation(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = FeatureAblation(model)

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        seg = torch.from_numpy(slic_from_settings(x, s)).to(x.device).unsqueeze(1)  # (n, 1, H, W)
        n_features = int(seg.max().item()) + 1
        return explainer.attribute(
            x,
            baselines=s["baseline"],
            target=t,
            feature_mask=seg,  # one mask per example: Captum ablates feature k in every example at once
            perturbations_per_eval=max(1, min(n_features, ctx.max_rows // x.shape[0])),
        )

    return run


def _coefs_to_map(coefs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Superpixel coefficients (1, F) to a (1, 1, H, W) map by indexing, instead of Captum's per-feature
    loop with ``return_input_shape=True`` (same values, one gather instead of F mask comparisons)."""
    return coefs.reshape(-1).to(torch.float32)[mask]


def _per_sample(ctx: RunContext, s: dict[str, Any], attribute: Any) -> BatchFn:
    """Run ``attribute(x_i, t_i, mask_i)`` sample by sample, each seeded from (seed, sample index)."""

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        seg = torch.from_numpy(slic_from_settings(x, s)).to(x.device)
        out = []
        for i in range(x.shape[0]):
            with torch_seeded(derive_seed(ctx.seed, start + i)):
                out.append(attribute(x[i : i + 1], t[i : i + 1], seg[i][None, None]))
        return torch.cat(out)

    return run


def _surrogate_map(explainer: Any, x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor, s: dict[str, Any],
                   ctx: RunContext) -> torch.Tensor:
    """One sample through a Captum surrogate explainer (Lime, KernelShap): all its perturbations packed
    into forwards of up to ``ctx.max_rows`` rows, superpixel coefficients painted back onto the image."""
    coefs = explainer.attribute(
        x,
        target=t,
        baselines=s["baseline"],
        feature_mask=mask,
        n_samples=s["n_samples"],
        perturbations_per_eval=max(1, min(s["n_samples"], ctx.max_rows)),
        return_input_shape=False,
    )
    return _coefs_to_map(coefs, mask)


def build_lime(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = Lime(
        model,
        interpretable_model=SkLearnLasso(alpha=s["alpha"]),
        similarity_func=get_exp_kernel_similarity_function(
            distance_mode=s["distance"], kernel_width=s["kernel_width"]
        ),
    )

    def attribute(x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return _surrogate_map(explainer, x, t, mask, s, ctx)

    return _per_sample(ctx, s, attribute)


def build_kernelshap(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = KernelShap(model)

    def attribute(x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if int(mask.max().item()) == 0:
            # One superpixel: Captum's sampling distribution over coalition sizes is undefined (0/0),
            # but the Shapley value is exact here: f(x) - f(baseline), by efficiency.
            with torch.no_grad():
                out = model(torch.cat([x, torch.full_like(x, s["baseline"])]))[:, t[0]]
            return (out[0] - out[1]).reshape(1, 1, 1, 1).expand(1, 1, *x.shape[2:]).clone()
        return _surrogate_map(explainer, x, t, mask, s, ctx)

    return _per_sample(ctx, s, attribute)


def build_shapley(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = ShapleyValueSampling(model)

    def attribute(x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n_features = int(mask.max().item()) + 1
        return explainer.attribute(
            x,
            target=t,
            baselines=s["baseline"],
            feature_mask=mask,
            n_samples=s["n_samples"],
            perturbations_per_eval=max(1, min(n_features, ctx.max_rows)),
        )

    return _per_sample(ctx, s, attribute)


def superpixel_count_estimate(s: dict[str, Any]) -> int:
    """Cost tables use ``n_segments`` as the feature count; SLIC returns roughly that many segments."""
    return int(s["n_segments"])

