"""Explanation engine: a registry of 18+ attribution methods and one ``explain`` entry point.

Families (see ``EXPLAINERS``): gradient (Saliency, Input x Gradient, Guided Backprop,
Deconvolution, Integrated Gradients, DeepLIFT, LRP, SmoothGrad, VarGrad), cam (Grad-CAM, Guided
Grad-CAM, Grad-CAM++), perturbation (Occlusion, LIME, KernelSHAP, Shapley value sampling, feature
ablation) and example (ProtoDash, Anchors).

    settings = resolve_settings("integratedgradients", n_steps=50)   # explicit, JSON-serialisable
    targets = select_targets(model, x, y, EXPLAINERS["integratedgradients"].target_policy)
    maps = explain(model, x, targets, "integratedgradients", seed=0, **settings)  # float32, x.shape
"""

from .engine import DEFAULT_MAX_ROWS, explain, resolve_device, select_targets
from .registry import (
    EXPLAINERS,
    FAMILIES,
    TARGET_POLICIES,
    ExplainerSpec,
    PassCount,
    get_explainer_spec,
    passes_per_sample,
    resolve_settings,
)
from .superpixels import slic_segments

__all__ = [
    "DEFAULT_MAX_ROWS",
    "EXPLAINERS",
    "FAMILIES",
    "TARGET_POLICIES",
    "ExplainerSpec",
    "PassCount",
    "explain",
    "get_explainer_spec",
    "passes_per_sample",
    "resolve_device",
    "resolve_settings",
    "select_targets",
    "slic_segments",
]
