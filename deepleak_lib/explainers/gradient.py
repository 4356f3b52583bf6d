"""Gradient-family explainers, all computed by Captum.

Saliency (Simonyan et al., ICLR-W 2014), Input x Gradient (Shrikumar et al., arXiv 2016), Guided
Backprop (Springenberg et al., ICLR-W 2015), Deconvolution (Zeiler & Fergus, ECCV 2014), Integrated
Gradients (Sundararajan et al., ICML 2017), DeepLIFT-Rescale (Shrikumar et al., ICML 2017), LRP-epsilon
(Bach et al., PLOS ONE 2015), SmoothGrad (Smilkov et al., arXiv 2017) and VarGrad (Adebayo et al.,
ICLR-W 2018) through Captum's NoiseTunnel.

Internal batching: Integrated Gradients gets an ``internal_batch_size`` that packs as many steps as
fit in ``RunContext.max_rows`` rows; NoiseTunnel expands each sample ``nt_samples_batch_size`` times
and the engine sizes input batches so that the expansion stays within ``max_rows``.
"""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import (
    LRP,
    Deconvolution,
    DeepLift,
    GuidedBackprop,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
)

# Captum documents its LRP rules under this module but does not re-export them from captum.attr.
from captum.attr._utils.lrp_rules import EpsilonRule
from torch import nn

from ..errors import DeepLeakError
from .context import BatchFn, RunContext, derive_seed, torch_seeded


def step_batch(rows_per_step: int, n_steps: int, max_rows: int) -> int:
    """Captum ``internal_batch_size`` for IG: whole steps (``rows_per_step`` rows each), <= max_rows."""
    return rows_per_step * max(1, min(n_steps, max_rows // max(rows_per_step, 1)))


def build_saliency(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = Saliency(model)

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        return explainer.attribute(x, target=t, abs=s["abs"])

    return run


def build_inputxgradient(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = InputXGradient(model)
    return lambda x, t, start: explainer.attribute(x, target=t)


def build_guidedbackprop(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = GuidedBackprop(model)
    return lambda x, t, start: explainer.attribute(x, target=t)


def build_deconvolution(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    # The real deconvnet rule (ReLU applied to the backward signal only); the release used
    # GuidedBackprop under this name by mistake.
    explainer = Deconvolution(model)
    return lambda x, t, start: explainer.attribute(x, target=t)


def build_integratedgradients(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = IntegratedGradients(model, multiply_by_inputs=True)

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        return explainer.attribute(
            x,
            baselines=s["baseline"],
            target=t,
            n_steps=s["n_steps"],
            method=s["method"],
            internal_batch_size=step_batch(x.shape[0], s["n_steps"], ctx.max_rows),
        )

    return run


def build_deeplift(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    # Captum implements the Rescale rule; multiply_by_inputs gives (x - x') * multipliers.
    explainer = DeepLift(model, multiply_by_inputs=True)
    return lambda x, t, start: explainer.attribute(x, baselines=s["baseline"], target=t)


# Module types that Captum's LRP gives an epsilon rule by default (2-D networks).
_EPSILON_LAYERS = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.BatchNorm2d)


def build_lrp(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = LRP(model)

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        # Explicit epsilon rules (Captum's default would be epsilon 1e-9). Captum deletes the ``rule``
        # attributes and reloads the state dict after a successful call; on failure we clean up, so the
        # caller's model is left as it came in either way.
        for module in model.modules():
            if isinstance(module, _EPSILON_LAYERS):
                module.rule = EpsilonRule(epsilon=s["epsilon"])  # type: ignore[assignment]
        try:
            return explainer.attribute(x, target=t)
        except (TypeError, RuntimeError, AssertionError) as err:
            why = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise DeepLeakError(f"Captum's LRP cannot explain {type(model).__name__}: {why}") from err
        finally:
            for module in model.modules():
                for attr in ("rule", "activations"):
                    if attr in module.__dict__:
                        delattr(module, attr)

    return run


def _noise_tunnel(nt_type: str) -> Any:
    def build(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
        kwargs: dict[str, Any]
        if s["base"] == "saliency":
            base: Any = Saliency(model)
            kwargs = {"abs": s["abs"]}
        else:  # "integratedgradients", the release's choice
            base = IntegratedGradients(model, multiply_by_inputs=True)
            kwargs = {"baselines": s["baseline"], "n_steps": s["n_steps"], "method": s["method"]}
        tunnel = NoiseTunnel(base)

        def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
            extra = dict(kwargs)
            if s["base"] == "integratedgradients":
                rows = x.shape[0] * s["nt_samples_batch_size"]
                extra["internal_batch_size"] = step_batch(rows, s["n_steps"], ctx.max_rows)
            # Noise is drawn batch-wise by Captum, so the seed is keyed on the batch's first sample.
            with torch_seeded(derive_seed(ctx.seed, start)):
                return tunnel.attribute(
                    x,
                    nt_type=nt_type,
                    nt_samples=s["nt_samples"],
                    nt_samples_batch_size=s["nt_samples_batch_size"],
                    stdevs=s["stdevs"],
                    draw_baseline_from_distrib=False,
                    target=t,
                    **extra,
                )

        return run

    return build


build_smoothgrad = _noise_tunnel("smoothgrad")
build_vargrad = _noise_tunnel("vargrad")
