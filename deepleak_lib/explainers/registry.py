"""The explainer registry: every method, its family, its paper, and every hyperparameter explicit.

Defaults are the release's values where it had one (see docs/deepleak-reference.md, "Explainers in
the release"); Captum's own defaults are never relied on silently: each Captum argument that changes
a map is a setting here. Performance knobs that never change a map (``internal_batch_size``,
``perturbations_per_eval``) are not settings; the engine derives them from its ``max_rows`` budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeepLeakError, unknown_name
from . import anchors, cam, gradient, perturbation, protodash
from .context import Builder
from .superpixels import slic_defaults
from .validation import Checker, boolean, choice, finite_float, float_in, int_at_least, positive_float

FAMILIES = ("gradient", "cam", "perturbation", "example")
TARGET_POLICIES = ("true", "predicted")


@dataclass(frozen=True)
class PassCount:
    """Model passes one explained sample costs: rows through forward and through backward."""

    forward: int
    backward: int


InShape = tuple[int, int, int]
PassFn = Callable[[Mapping[str, Any], InShape], PassCount]


@dataclass(frozen=True)
class ExplainerSpec:
    """A registry entry. ``passes(settings, (C, H, W))`` takes resolved settings (``resolve_settings``)."""

    name: str
    family: str
    citation: str
    defaults: dict[str, Any] = field(compare=False)
    target_policy: str
    passes: PassFn = field(compare=False, repr=False)
    builder: Builder = field(compare=False, repr=False)
    checks: dict[str, Checker] = field(compare=False, repr=False)
    stochastic: bool = False
    # Rows one sample occupies in the method's smallest forward pass (the engine's batch cap).
    rows_per_sample: Callable[[Mapping[str, Any]], int] = field(default=lambda s: 1, compare=False, repr=False)
    cross_check: Callable[[str, Mapping[str, Any]], None] | None = field(default=None, compare=False, repr=False)
    notes: str = ""


def _fixed(fwd: int, bwd: int) -> PassFn:
    return lambda s, shape: PassCount(fwd, bwd)


# ---- shared setting groups ------------------------------------------------------------------------

_IG_DEFAULTS = {"n_steps": 50, "method": "gausslegendre", "baseline": 0.0}
_IG_CHECKS: dict[str, Checker] = {
    "n_steps": int_at_least(1),
    "method": choice("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle"),
    "baseline": finite_float(),
}
_SLIC_CHECKS: dict[str, Checker] = {
    "n_segments": int_at_least(1),
    "compactness": positive_float(),
    "slic_sigma": float_in(0.0, math.inf, hi_open=True),
    "slic_max_num_iter": int_at_least(1),
    "slic_convert2lab": boolean(),
}
_INTERP = ("nearest", "bilinear", "bicubic", "area")


def _noise_tunnel_spec(name: str, citation: str) -> ExplainerSpec:
    defaults = {
        # Plain-gradient base as in the literature; "integratedgradients" reproduces the release.
        "base": "saliency",
        "nt_samples": 5,  # the reference gives no count; 5 is Captum's default, which the release inherited
        "stdevs": 1.0,  # the release's noise level, in input units
        "nt_samples_batch_size": 5,  # changes the noise draw order, so it is recorded
        "abs": False,  # saliency base: average signed gradients (Smilkov et al.); ignored for IG
        **_IG_DEFAULTS,  # used only when base == "integratedgradients"
    }
    checks = {
        "base": choice("saliency", "integratedgradients"),
        "nt_samples": int_at_least(1),
        "stdevs": positive_float(),
        "nt_samples_batch_size": int_at_least(1),
        "abs": boolean(),
        **_IG_CHECKS,
    }

    def passes(s: Mapping[str, Any], shape: InShape) -> PassCount:
        n = s["nt_samples"] * (s["n_steps"] if s["base"] == "integratedgradients" else 1)
        return PassCount(n, n)

    def cross(method: str, s: Mapping[str, Any]) -> None:
        if s["nt_samples_batch_size"] > s["nt_samples"]:
            raise DeepLeakError(
                f"invalid setting nt_samples_batch_size={s['nt_samples_batch_size']} for explainer {method!r}: "
                f"must be <= nt_samples={s['nt_samples']}"
            )

    return ExplainerSpec(
        name, "gradient", citation, defaults, "true", passes,
        gradient.build_smoothgrad if name == "smoothgrad" else gradient.build_vargrad,
        checks, stochastic=True, rows_per_sample=lambda s: int(s["nt_samples_batch_size"]), cross_check=cross,
        notes="NoiseTunnel draws noise per batch: maps depend on (seed, batch_size, max_rows, nt_samples_batch_size).",
    )


def _superpixel_passes(per_feature: Callable[[Mapping[str, Any], int], int]) -> PassFn:
    return lambda s, shape: PassCount(per_feature(s, perturbation.superpixel_count_estimate(s)), 0)


def _anchor_passes(s: Mapping[str, Any], shape: InShape) -> PassCount:
    """Worst case (threshold never reached): F candidates, then <= beam_size * (F - k + 1) per round."""
    f = perturbation.superpixel_count_estimate(s)
    rounds = min(s["max_anchor_size"], f)
    candidates = f + sum(min(s["beam_size"] * (f - k + 1), math.comb(f, k)) for k in range(2, rounds + 1))
    return PassCount(s["n_samples"] * candidates, 0)


_LIME_LIKE_CHECKS: dict[str, Checker] = {"n_samples": int_at_least(1), "baseline": finite_float(), **_SLIC_CHECKS}

EXPLAINERS: dict[str, ExplainerSpec] = {
    spec.name: spec
    for spec in (
        ExplainerSpec(
            "saliency", "gradient",
            "Simonyan, Vedaldi & Zisserman, Deep Inside Convolutional Networks, ICLR Workshop 2014",
            {"abs": True}, "true", _fixed(1, 1), gradient.build_saliency, {"abs": boolean()},
            notes="|d f_t / d x| as in the release (abs=True).",
        ),
        ExplainerSpec(
            "inputxgradient", "gradient",
            "Shrikumar, Greenside, Shcherbina & Kundaje, Not Just a Black Box, arXiv:1605.01713, 2016",
            {}, "true", _fixed(1, 1), gradient.build_inputxgradient, {},
        ),
        ExplainerSpec(
            "guidedbackprop", "gradient",
            "Springenberg, Dosovitskiy, Brox & Riedmiller, Striving for Simplicity, ICLR Workshop 2015",
            {}, "true", _fixed(1, 1), gradient.build_guidedbackprop, {},
        ),
        ExplainerSpec(
            "deconvolution", "gradient",
            "Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014",
            {}, "true", _fixed(1, 1), gradient.build_deconvolution, {},
            notes="Captum's Deconvolution (the release used GuidedBackprop under this name).",
        ),
        ExplainerSpec(
            "integratedgradients", "gradient",
            "Sundararajan, Taly & Yan, Axiomatic Attribution for Deep Networks, ICML 2017",
            dict(_IG_DEFAULTS), "true", lambda s, shape: PassCount(s["n_steps"], s["n_steps"]),
            gradient.build_integratedgradients, dict(_IG_CHECKS),
        ),
        ExplainerSpec(
            "deeplift", "gradient",
            "Shrikumar, Greenside & Kundaje, Learning Important Features Through Propagating Activation "
            "Differences, ICML 2017",
            {"baseline": 0.0}, "true", _fixed(2, 2), gradient.build_deeplift, {"baseline": finite_float()},
            rows_per_sample=lambda s: 2,
            notes="Rescale rule; input and baseline rows go through one forward/backward pass.",
        ),
        ExplainerSpec(
            "lrp", "gradient",
            "Bach, Binder, Montavon, Klauschen, Mueller & Samek, On Pixel-Wise Explanations by Layer-Wise "
            "Relevance Propagation, PLOS ONE 2015",
            {"epsilon": 1e-9}, "true", _fixed(1, 1), gradient.build_lrp, {"epsilon": positive_float()},
            notes="Epsilon rule on conv/linear/pool/batch-norm layers; Captum supports ReLU/Tanh/Dropout only "
            "as non-linearities (not ReLU6 or Identity), so only small_cnn is supported among our models.",
        ),
        _noise_tunnel_spec(
            "smoothgrad",
            "Smilkov, Thorat, Kim, Viegas & Wattenberg, SmoothGrad: Removing Noise by Adding Noise, "
            "arXiv:1706.03825, 2017",
        ),
        _noise_tunnel_spec(
            "vargrad",
            "Adebayo, Gilmer, Goodfellow & Kim, Local Explanation Methods for Deep Neural Networks Lack "
            "Sensitivity to Parameter Values, ICLR Workshop 2018",
        ),
        ExplainerSpec(
            "gradcam", "cam",
            "Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra, Grad-CAM, ICCV 2017",
            {"interpolate_mode": "bilinear"}, "true", _fixed(1, 1), cam.build_gradcam,
            {"interpolate_mode": choice(*_INTERP)},
            notes="ReLU(sum_k alpha_k A^k) on model.cam_layer, upsampled to H x W, broadcast over channels.",
        ),
        ExplainerSpec(
            "guidedgradcam", "cam",
            "Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra, Grad-CAM, ICCV 2017",
            {"interpolate_mode": "nearest"}, "true", _fixed(2, 2), cam.build_guidedgradcam,
            {"interpolate_mode": choice(*_INTERP)},
            notes="Guided Backprop x upsampled Grad-CAM (Captum); per-channel map.",
        ),
        ExplainerSpec(
            "gradcampp", "cam",
            "Chattopadhay, Sarkar, Howlader & Balasubramanian, Grad-CAM++, WACV 2018",
            {"interpolate_mode": "bilinear", "exp_score": False}, "true", _fixed(1, 1), cam.build_gradcampp,
            {"interpolate_mode": choice(*_INTERP), "exp_score": boolean()},
            notes="Our implementation (forward hook + autograd); broadcast over channels.",
        ),
        ExplainerSpec(
            "occlusion", "perturbation",
            "Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014",
            {"window_frac": 0.5, "stride": 1, "baseline": 0.0}, "predicted",
            lambda s, shape: PassCount(perturbation.occlusion_windows(s, shape) + 1, 0),
            perturbation.build_occlusion,
            {"window_frac": float_in(0.0, 1.0, lo_open=True), "stride": int_at_least(1), "baseline": finite_float()},
            notes="Window spans all channels and window_frac of H and W (0.5: 3x16x16 on 32x32, 14x14 on 28x28).",
        ),
        ExplainerSpec(
            "lime", "perturbation",
            "Ribeiro, Singh & Guestrin, \"Why Should I Trust You?\", KDD 2016",
            {"n_samples": 25, **slic_defaults(50), "baseline": 0.0, "distance": "cosine", "kernel_width": 1.0,
             "alpha": 0.01},
            "predicted", _superpixel_passes(lambda s, f: s["n_samples"]), perturbation.build_lime,
            {**_LIME_LIKE_CHECKS, "distance": choice("cosine", "euclidean"), "kernel_width": positive_float(),
             "alpha": positive_float()},
            stochastic=True,
            notes="Exponential kernel on the perturbed-input distance, Lasso surrogate (sklearn); per-sample seeds.",
        ),
        ExplainerSpec(
            "kernelshap", "perturbation",
            "Lundberg & Lee, A Unified Approach to Interpreting Model Predictions, NeurIPS 2017",
            {"n_samples": 25, **slic_defaults(15), "baseline": 0.0}, "predicted",
            _superpixel_passes(lambda s, f: s["n_samples"]), perturbation.build_kernelshap,
            dict(_LIME_LIKE_CHECKS), stochastic=True,
            notes="Shapley-kernel weighted linear regression (Captum); per-sample seeds.",
        ),
        ExplainerSpec(
            "shapley", "perturbation",
            "Castro, Gomez & Tejada, Polynomial Calculation of the Shapley Value Based on Sampling, "
            "Computers & Operations Research 2009",
            {"n_samples": 25, **slic_defaults(50), "baseline": 0.0}, "predicted",
            _superpixel_passes(lambda s, f: s["n_samples"] * f + 1), perturbation.build_shapley,
            dict(_LIME_LIKE_CHECKS), stochastic=True,
            notes="Captum ShapleyValueSampling over SLIC superpixels (the release's 'SHAP'); per-sample seeds.",
        ),
        ExplainerSpec(
            "featureablation", "perturbation",
            "Kokhlikyan et al., Captum: A Unified and Generic Model Interpretability Library for PyTorch, "
            "arXiv:2009.07896, 2020",
            {**slic_defaults(50), "baseline": 0.0}, "predicted",
            _superpixel_passes(lambda s, f: f + 1), perturbation.build_featureablation,
            {**_SLIC_CHECKS, "baseline": finite_float()},
            notes="f(x) - f(x with superpixel k set to baseline), per superpixel (extra).",
        ),
        ExplainerSpec(
            "protodash", "example",
            "Gurumoorthy, Dhurandhar, Cecchi & Aggarwal, Efficient Data Representation by Selecting "
            "Prototypes with Importance Weights, ICDM 2019",
            {"n_prototypes": 5, "sigma": 2.0, "class_filter": "target", "normalize_weights": True}, "predicted",
            _fixed(0, 0), protodash.build_protodash,
            {"n_prototypes": int_at_least(1), "sigma": positive_float(), "class_filter": choice("target", "none"),
             "normalize_weights": boolean()},
            stochastic=True,
            notes="Needs reference_inputs; map = sum_j w_j * prototype_j. One forward over the reference pool "
            "per call (class filter), not per sample.",
        ),
        ExplainerSpec(
            "anchors", "example",
            "Ribeiro, Singh & Guestrin, Anchors: High-Precision Model-Agnostic Explanations, AAAI 2018",
            {**slic_defaults(15), "threshold": 0.95, "beam_size": 2, "n_samples": 32, "max_anchor_size": 8,
             "p_present": 0.5, "baseline": 0.0},
            "predicted", _anchor_passes, anchors.build_anchors,
            {**_SLIC_CHECKS, "threshold": float_in(0.0, 1.0), "beam_size": int_at_least(1),
             "n_samples": int_at_least(1), "max_anchor_size": int_at_least(1),
             "p_present": float_in(0.0, 1.0), "baseline": finite_float()},
            stochastic=True,
            notes="Binary anchor mask broadcast over channels; passes are the worst case.",
        ),
    )
}


def get_explainer_spec(method: str) -> ExplainerSpec:
    if method not in EXPLAINERS:
        raise unknown_name("explainer", method, EXPLAINERS)
    return EXPLAINERS[method]


def resolve_settings(method: str, /, **overrides: Any) -> dict[str, Any]:
    """Defaults merged with ``overrides``, validated; JSON-serialisable (plain bool/int/float/str).

    ``method`` is positional-only so that Integrated Gradients' own ``method`` setting can be passed.
    Raises a one-line ``DeepLeakError`` for an unknown method, an unknown key or an invalid value.
    """
    spec = get_explainer_spec(method)
    unknown = sorted(set(overrides) - set(spec.defaults))
    if unknown:
        valid = ", ".join(sorted(spec.defaults)) or "(none)"
        raise DeepLeakError(f"unknown setting(s) {', '.join(unknown)} for explainer {method!r}; valid settings: {valid}")
    merged = {**spec.defaults, **overrides}
    resolved = {key: spec.checks[key](method, key, value) for key, value in merged.items()}
    if spec.cross_check is not None:
        spec.cross_check(method, resolved)
    return resolved


def passes_per_sample(method: str, in_shape: InShape, /, **overrides: Any) -> PassCount:
    """Forward/backward rows one sample costs with these settings (cost tables, benchmark floors)."""
    return get_explainer_spec(method).passes(resolve_settings(method, **overrides), tuple(in_shape))  # type: ignore[arg-type]
