"""Class-activation-map explainers on ``model.cam_layer`` (every model in ``deepleak_lib.models``).

Grad-CAM (Selvaraju et al., ICCV 2017) and Guided Grad-CAM come from Captum; Grad-CAM++
(Chattopadhay et al., WACV 2018) is computed here with a forward hook, as Captum does not offer it.
Grad-CAM and Grad-CAM++ maps are one channel at the layer's resolution; they are upsampled to the
input's H x W with Captum's ``LayerAttribution.interpolate``, passed through a ReLU, and returned as
(n, 1, H, W) for the engine to broadcast over the input channels.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from captum.attr import GuidedGradCam, LayerAttribution, LayerGradCam
from torch import nn

from ..errors import DeepLeakError
from .context import BatchFn, RunContext


def cam_layer(model: nn.Module) -> nn.Module:
    layer = getattr(model, "cam_layer", None)
    if not isinstance(layer, nn.Module):
        raise DeepLeakError(
            f"model {type(model).__name__} has no 'cam_layer' module; CAM explainers need one "
            "(see deepleak_lib.models)"
        )
    return layer


def _upsample(cam: torch.Tensor, x: torch.Tensor, mode: str) -> torch.Tensor:
    # ReLU after interpolation too: bicubic interpolation can undershoot below zero.
    return F.relu(LayerAttribution.interpolate(cam, tuple(x.shape[2:]), interpolate_mode=mode))


def build_gradcam(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = LayerGradCam(model, cam_layer(model))

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        cam = explainer.attribute(x, target=t, relu_attributions=True, attr_dim_summation=True)
        return _upsample(cam, x, s["interpolate_mode"])

    return run


def build_guidedgradcam(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    explainer = GuidedGradCam(model, cam_layer(model))
    return lambda x, t, start: explainer.attribute(x, target=t, interpolate_mode=s["interpolate_mode"])


def gradcampp_layer_map(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, t: torch.Tensor, *, exp_score: bool
) -> torch.Tensor:
    """Grad-CAM++ at the layer's resolution, shape (n, 1, h, w), non-negative.

    With g = dY^c/dA^k (Chattopadhay et al., Eq. 19, exponential link):
    alpha = g^2 / (2 g^2 + sum_ab A_ab g^3), w_k = sum_ij alpha_ij relu(g_ij), map = relu(sum_k w_k A^k).
    With ``exp_score`` the score is exp(S^c) as in the paper, which multiplies every weight by the
    positive per-sample factor exp(S^c) (alpha is unchanged); without it (the common implementation) the
    factor is dropped and only the map's scale differs.
    """
    store: dict[str, torch.Tensor] = {}

    def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        store["a"] = output

    handle = layer.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            scores = model(x.detach().requires_grad_(True)).gather(1, t.reshape(-1, 1)).squeeze(1)
            act = store["a"]
            (grad,) = torch.autograd.grad(scores.sum(), act)
    finally:
        handle.remove()
    act, grad = act.detach(), grad.detach()
    g2, g3 = grad.pow(2), grad.pow(3)
    denom = 2 * g2 + act.sum(dim=(2, 3), keepdim=True) * g3
    alpha = torch.where(denom != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)), 0.0)
    weights = (alpha * F.relu(grad)).sum(dim=(2, 3), keepdim=True)
    if exp_score:
        # exp in float64 so that large logits do not overflow float32 before the product is formed.
        factor = torch.exp(scores.detach().double()).reshape(-1, 1, 1, 1)
        return F.relu(((weights.double() * factor) * act.double()).sum(dim=1, keepdim=True)).float()
    return F.relu((weights * act).sum(dim=1, keepdim=True))


def build_gradcampp(model: nn.Module, s: dict[str, Any], ctx: RunContext) -> BatchFn:
    layer = cam_layer(model)

    def run(x: torch.Tensor, t: torch.Tensor, start: int) -> torch.Tensor:
        cam = gradcampp_layer_map(model, layer, x, t, exp_score=s["exp_score"])
        return _upsample(cam, x, s["interpolate_mode"])

    return run
