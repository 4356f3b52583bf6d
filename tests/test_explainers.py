"""Explanation engine: analytic fixtures (IG completeness, linear models), registry contract, seeds."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from deepleak_lib.errors import DeepLeakError
from deepleak_lib.explainers import (
    EXPLAINERS,
    FAMILIES,
    TARGET_POLICIES,
    explain,
    passes_per_sample,
    resolve_settings,
    select_targets,
    slic_segments,
)
from deepleak_lib.explainers.anchors import anchor_search
from deepleak_lib.explainers.protodash import protodash_select
from deepleak_lib.models import MobileNetV2CIFAR, SmallCNN

REQUIRED = (
    "saliency inputxgradient guidedbackprop deconvolution integratedgradients deeplift lrp smoothgrad vargrad "
    "gradcam guidedgradcam gradcampp occlusion lime kernelshap shapley protodash anchors"
).split()

# Tiny budgets so that every method runs in well under a second on two CPU cores.
TINY: dict[str, dict] = {
    "integratedgradients": {"n_steps": 4},
    "smoothgrad": {"nt_samples": 2, "nt_samples_batch_size": 2},
    "vargrad": {"nt_samples": 2, "nt_samples_batch_size": 1, "base": "integratedgradients", "n_steps": 3},
    "lime": {"n_samples": 4, "n_segments": 8},
    "kernelshap": {"n_samples": 4, "n_segments": 8},
    "shapley": {"n_samples": 2, "n_segments": 8},
    "featureablation": {"n_segments": 8},
    "anchors": {"n_segments": 8, "n_samples": 4, "max_anchor_size": 2},
    "occlusion": {"window_frac": 0.25, "stride": 4},
    "protodash": {"n_prototypes": 3},
}


@pytest.fixture(autouse=True)
def _quiet() -> None:
    # Captum warns about batch handling and hooks; the tests check values, not warnings.
    warnings.simplefilter("ignore")


class Linear(nn.Module):
    """f(x) = W vec(x) + b: every attribution method has a closed form on it."""

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int = 3) -> None:
        super().__init__()
        self.fc = nn.Linear(int(np.prod(in_shape)), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.reshape(x.shape[0], -1))


class CamNet(nn.Module):
    """conv (1 map, same size) -> spatial sum -> linear: Grad-CAM++ has a closed form on it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.fc = nn.Linear(1, 2)

    @property
    def cam_layer(self) -> nn.Module:
        return self.conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).sum(dim=(2, 3)))


def _model(shape: tuple[int, int, int]) -> nn.Module:
    torch.manual_seed(0)
    return SmallCNN(shape, 10, width=4).eval()


def _smooth_images(n: int, shape: tuple[int, int, int], seed: int = 0) -> torch.Tensor:
    # Blurred noise: SLIC finds several segments in it (pure RGB noise collapses to one in Lab space).
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, *shape), generator=g)
    k = torch.ones(shape[0], 1, 5, 5) / 25
    return torch.nn.functional.conv2d(x, k, padding=2, groups=shape[0])


# ---- registry --------------------------------------------------------------------------------------


def test_registry_contract() -> None:
    assert set(REQUIRED) <= set(EXPLAINERS)
    for name, spec in EXPLAINERS.items():
        assert spec.name == name
        assert spec.family in FAMILIES
        assert spec.target_policy in TARGET_POLICIES
        assert re.search(r"(19|20)\d\d", spec.citation), name
        settings = resolve_settings(name)
        assert settings == spec.defaults
        assert json.loads(json.dumps(settings)) == settings
        count = spec.passes(settings, (1, 28, 28))
        assert count.forward >= 0 and count.backward >= 0
    assert EXPLAINERS["saliency"].target_policy == "true"
    assert EXPLAINERS["gradcam"].target_policy == "true"
    assert EXPLAINERS["lime"].target_policy == "predicted"
    assert EXPLAINERS["shapley"].target_policy == "predicted"


def test_release_defaults_and_pass_counts() -> None:
    ig = resolve_settings("integratedgradients")
    assert ig == {"n_steps": 50, "method": "gausslegendre", "baseline": 0.0}
    assert resolve_settings("lime")["n_samples"] == 25 and resolve_settings("lime")["n_segments"] == 50
    assert resolve_settings("shapley")["n_segments"] == 50 and resolve_settings("kernelshap")["n_segments"] == 15
    assert passes_per_sample("integratedgradients", (1, 28, 28)).forward == 50
    assert passes_per_sample("smoothgrad", (1, 28, 28), base="integratedgradients").backward == 5 * 50
    # 14x14 window, stride 1 on 28x28: 15 x 15 positions + the unoccluded pass; 16x16 on 32x32: 17 x 17 + 1.
    assert passes_per_sample("occlusion", (1, 28, 28)).forward == 226
    assert passes_per_sample("occlusion", (3, 32, 32)).forward == 290
    assert passes_per_sample("shapley", (1, 28, 28)).forward == 25 * 50 + 1
    assert passes_per_sample("integratedgradients", (1, 28, 28), method="riemann_trapezoid").forward == 50


@pytest.mark.parametrize(
    ("method", "overrides", "pattern"),
    [
        ("nosuch", {}, "unknown explainer 'nosuch'; choose one of: anchors"),
        ("integratedgradients", {"n_step": 5}, "unknown setting"),
        ("integratedgradients", {"n_steps": -1}, "n_steps=-1"),
        ("integratedgradients", {"n_steps": 2.5}, "integer"),
        ("integratedgradients", {"method": "simpson"}, "method='simpson'"),
        ("smoothgrad", {"stdevs": 0.0}, "stdevs=0.0"),
        ("smoothgrad", {"stdevs": -1}, "stdevs=-1"),
        ("smoothgrad", {"nt_samples": 2, "nt_samples_batch_size": 3}, "nt_samples_batch_size"),
        ("lime", {"n_samples": 0}, "n_samples=0"),
        ("saliency", {"abs": 1}, "true or false"),
        ("occlusion", {"window_frac": 1.5}, "window_frac"),
        ("anchors", {"threshold": float("nan")}, "threshold"),
    ],
)
def test_bad_settings_raise_one_line(method: str, overrides: dict, pattern: str) -> None:
    with pytest.raises(DeepLeakError) as info:
        resolve_settings(method, **overrides)
    assert "\n" not in str(info.value)
    assert pattern in str(info.value)


def test_engine_rejects_bad_calls() -> None:
    model, x = Linear((1, 4, 4)), torch.rand(2, 1, 4, 4)
    for kwargs, pattern in [
        ({"device": "tpu"}, "device"),
        ({"device": "cuda:99"} if torch.cuda.is_available() else {"device": "cuda"}, "CUDA"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_steps": 0}, "n_steps"),
    ]:
        with pytest.raises(DeepLeakError, match=pattern):
            explain(model, x, torch.zeros(2, dtype=torch.long), "integratedgradients", **kwargs)
    with pytest.raises(DeepLeakError, match="targets"):
        explain(model, x, torch.zeros(3, dtype=torch.long), "saliency")
    with pytest.raises(DeepLeakError, match="targets must be integers"):
        explain(model, x, torch.zeros(2), "saliency")
    with pytest.raises(DeepLeakError, match="unknown explainer"):
        explain(model, x, torch.zeros(2, dtype=torch.long), "gradcam++")
    with pytest.raises(DeepLeakError, match="reference_inputs"):
        explain(model, x, torch.zeros(2, dtype=torch.long), "protodash")
    # A failing batch is raised with its sample range, never skipped: class 7 does not exist.
    with pytest.raises(DeepLeakError, match=r"samples 0\.\.1"):
        explain(model, x, torch.full((2,), 7), "saliency")


def test_lrp_unsupported_model_is_one_line_error() -> None:
    model = MobileNetV2CIFAR((3, 32, 32), 10).eval()
    with pytest.raises(DeepLeakError) as info:
        explain(model, torch.rand(1, 3, 32, 32), torch.zeros(1, dtype=torch.long), "lrp")
    assert "LRP" in str(info.value) and "ReLU6" in str(info.value) and "\n" not in str(info.value)


# ---- analytic fixtures ---------------------------------------------------------------------------


def test_integrated_gradients_completeness() -> None:
    model, x = _model((1, 12, 12)), torch.rand(4, 1, 12, 12)
    t = torch.tensor([0, 3, 5, 9])
    maps = explain(model, x, t, "integratedgradients", n_steps=50, max_rows=64)
    with torch.no_grad():
        gap = model(x).gather(1, t[:, None]).squeeze(1) - model(torch.zeros_like(x))[:, t].diagonal()
    np.testing.assert_allclose(maps.reshape(4, -1).sum(1), gap.numpy(), rtol=2e-2, atol=2e-4)
    # Internal step batching (max_rows) must not change the result.
    again = explain(model, x, t, "integratedgradients", n_steps=50, max_rows=7)
    np.testing.assert_allclose(again, maps, rtol=1e-4, atol=1e-6)


def test_saliency_is_abs_autograd_gradient() -> None:
    model, x = _model((1, 12, 12)), torch.rand(3, 1, 12, 12)
    t = torch.tensor([1, 2, 3])
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xg).gather(1, t[:, None]).sum(), xg)
    np.testing.assert_allclose(explain(model, x, t, "saliency"), grad.abs().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(explain(model, x, t, "saliency", abs=False), grad.numpy(), rtol=1e-5, atol=1e-7)


def test_occlusion_on_linear_model_matches_hand_computation() -> None:
    torch.manual_seed(1)
    model, x = Linear((1, 4, 4)), torch.rand(2, 1, 4, 4)
    t = torch.tensor([0, 2])
    w = model.fc.weight.detach().reshape(3, 4, 4)
    for stride in (1, 2):
        expected = np.zeros((2, 1, 4, 4))
        counts = np.zeros((4, 4))
        for i in range(0, 3, stride):  # 2x2 windows (window_frac 0.5 of 4)
            for j in range(0, 3, stride):
                counts[i : i + 2, j : j + 2] += 1
                for n in range(2):
                    drop = float((w[t[n], i : i + 2, j : j + 2] * x[n, 0, i : i + 2, j : j + 2]).sum())
                    expected[n, 0, i : i + 2, j : j + 2] += drop
        expected /= counts  # Captum averages over the windows covering each pixel
        got = explain(model, x, t, "occlusion", window_frac=0.5, stride=stride, max_rows=3)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_feature_ablation_on_linear_model_matches_hand_computation() -> None:
    torch.manual_seed(2)
    x = _smooth_images(2, (1, 10, 10))
    model, t = Linear((1, 10, 10)), torch.tensor([1, 0])
    seg = slic_segments(x, n_segments=6, compactness=10.0)
    assert seg.min() == 0 and all(len(np.unique(s)) == s.max() + 1 for s in seg)
    w = model.fc.weight.detach().reshape(3, 10, 10).numpy()
    contrib = [w[t[n]] * (x[n, 0].numpy() - 0.25) for n in range(2)]
    expected = np.stack([[np.vectorize(lambda k, n=n: contrib[n][seg[n] == k].sum())(seg[n])] for n in range(2)])
    got = explain(model, x, t, "featureablation", n_segments=6, baseline=0.25, max_rows=4)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_deeplift_on_linear_model_is_weight_times_difference() -> None:
    torch.manual_seed(3)
    model, x = Linear((1, 5, 5)), torch.rand(3, 1, 5, 5)
    t = torch.tensor([2, 0, 1])
    w = model.fc.weight.detach()[t].reshape(3, 1, 5, 5)
    got = explain(model, x, t, "deeplift", baseline=0.5)
    np.testing.assert_allclose(got, (w * (x - 0.5)).numpy(), rtol=1e-5, atol=1e-6)


def test_gradcam_nonnegative_at_input_resolution_and_broadcast() -> None:
    model, x = _model((3, 16, 16)), _smooth_images(3, (3, 16, 16))
    maps = explain(model, x, torch.tensor([0, 1, 2]), "gradcam")
    assert maps.shape == (3, 3, 16, 16) and (maps >= 0).all()
    np.testing.assert_array_equal(maps[:, 0], maps[:, 2])  # one map, copied to every channel


def test_gradcampp_closed_form() -> None:
    torch.manual_seed(4)
    model = CamNet()
    with torch.no_grad():
        model.fc.weight.copy_(torch.tensor([[0.7], [-0.3]]))
    x = torch.rand(2, 1, 6, 6)
    maps = explain(model, x, torch.tensor([0, 0]), "gradcampp", interpolate_mode="bilinear")
    with torch.no_grad():
        a = model.conv(x)
    g = 0.7  # dY/dA is the constant fc weight
    alpha = g**2 / (2 * g**2 + a.sum(dim=(2, 3), keepdim=True) * g**3)
    weight = 36 * alpha * g
    np.testing.assert_allclose(maps, torch.relu(weight * a).numpy(), rtol=1e-5, atol=1e-6)


# ---- every method: shape, finiteness, seeds -----------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_every_method_shape_finite_and_seeded(shape: tuple[int, int, int]) -> None:
    model = _model(shape)
    x = _smooth_images(3, shape)
    t = torch.tensor([0, 4, 7])
    ref = _smooth_images(12, shape, seed=1)
    for name in EXPLAINERS:
        kw = {"seed": 5, "batch_size": 2, "reference_inputs": ref, **TINY.get(name, {})}
        a = explain(model, x, t, name, **kw)
        assert a.shape == x.shape and a.dtype == np.float32, name
        assert np.isfinite(a).all(), name
        np.testing.assert_array_equal(a, explain(model, x, t, name, **kw), err_msg=name)


def test_per_sample_methods_do_not_depend_on_batch_size() -> None:
    shape = (1, 28, 28)
    model, x, t = _model(shape), _smooth_images(3, shape), torch.tensor([1, 2, 3])
    ref = _smooth_images(8, shape, seed=2)
    for name in ("lime", "kernelshap", "shapley", "anchors", "protodash"):
        kw = {"seed": 9, "reference_inputs": ref, **TINY[name]}
        np.testing.assert_array_equal(
            explain(model, x, t, name, batch_size=1, **kw), explain(model, x, t, name, batch_size=3, **kw), err_msg=name
        )


def test_seed_changes_stochastic_maps() -> None:
    model, x, t = _model((1, 12, 12)), torch.rand(2, 1, 12, 12), torch.tensor([0, 1])
    a = explain(model, x, t, "smoothgrad", seed=0, nt_samples=3, nt_samples_batch_size=3)
    b = explain(model, x, t, "smoothgrad", seed=1, nt_samples=3, nt_samples_batch_size=3)
    assert not np.array_equal(a, b)


def test_explain_restores_training_flag_and_handles_empty_input() -> None:
    model = _model((1, 12, 12)).train()
    out = explain(model, torch.rand(2, 1, 12, 12), torch.tensor([0, 1]), "saliency")
    assert model.training and out.shape == (2, 1, 12, 12)
    assert explain(model, np.zeros((0, 1, 12, 12), np.float32), np.zeros(0, np.int64), "saliency").shape == (0, 1, 12, 12)


def test_select_targets_policies() -> None:
    model, x = _model((1, 12, 12)), torch.rand(5, 1, 12, 12)
    labels = np.array([3, 1, 4, 1, 5])
    np.testing.assert_array_equal(select_targets(model, x, labels, "true"), labels)
    with torch.no_grad():
        expected = model(x).argmax(1).numpy()
    np.testing.assert_array_equal(select_targets(model, x, None, "predicted", batch_size=2), expected)
    with pytest.raises(DeepLeakError, match="target policy"):
        select_targets(model, x, labels, "random")


# ---- ProtoDash and Anchors on hand-checkable cases ------------------------------------------------


def test_protodash_picks_the_point_itself_when_in_the_pool() -> None:
    x = np.array([0.0, 1.0, 2.0])
    pool = np.stack([x + 3.0, x, x - 3.0])
    idx, w = protodash_select(x, pool, n_prototypes=3, sigma=2.0)
    # mu = k(pool, x); after choosing x (w = 1) every other gradient is k(j, x) - k(j, x) * 1 = 0: stop.
    np.testing.assert_array_equal(idx, [1])
    np.testing.assert_allclose(w, [1.0], rtol=1e-8)


def test_protodash_symmetric_pair_weights_and_seeded_ties() -> None:
    x, d = np.zeros(2), np.array([1.0, 0.0])
    pool = np.stack([x + d, x - d, x + 10.0])
    sigma = 1.0
    k = np.exp(-1 / (2 * sigma**2))  # k(x, x +- d)
    k12 = np.exp(-4 / (2 * sigma**2))  # k(x + d, x - d)
    idx, w = protodash_select(x, pool, n_prototypes=3, sigma=sigma)
    assert sorted(idx[:2].tolist()) == [0, 1]  # the far point never helps
    np.testing.assert_allclose(w[:2], [k / (1 + k12)] * 2, rtol=1e-6)
    assert idx[0] == 0  # exact tie, no rng: pool order
    firsts = {int(protodash_select(x, pool, n_prototypes=1, sigma=sigma, rng=np.random.default_rng(s))[0][0])
              for s in range(20)}
    assert firsts == {0, 1}  # seeded tie-breaks reach both
    r1 = protodash_select(x, pool, n_prototypes=2, sigma=sigma, rng=np.random.default_rng(7))
    r2 = protodash_select(x, pool, n_prototypes=2, sigma=sigma, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(r1[0], r2[0])


def test_protodash_map_is_weighted_prototype_sum() -> None:
    model = Linear((1, 3, 3))
    x = torch.rand(1, 1, 3, 3)
    ref = torch.cat([x, x + 5.0])  # x itself is in the pool: weight 1, map = x
    maps = explain(model, x, torch.tensor([0]), "protodash", reference_inputs=ref, class_filter="none")
    np.testing.assert_allclose(maps, x.numpy(), rtol=1e-6)


def test_anchor_search_finds_single_and_pair_anchors() -> None:
    rng = np.random.default_rng(0)
    one = anchor_search(lambda m: np.where(m[:, 2], 1, 0), 5, 1, threshold=0.95, beam_size=2, n_samples=64,
                        max_anchor_size=5, p_present=0.5, rng=rng)
    assert one == ((2,), 1.0)
    pair = anchor_search(lambda m: np.where(m[:, 1] & m[:, 3], 1, 0), 5, 1, threshold=0.95, beam_size=2,
                         n_samples=200, max_anchor_size=5, p_present=0.5, rng=np.random.default_rng(1))
    assert pair == ((1, 3), 1.0)
    # Unreachable threshold: the most precise anchor seen is returned.
    never = anchor_search(lambda m: np.zeros(len(m), int), 3, 1, threshold=0.95, beam_size=2, n_samples=4,
                          max_anchor_size=2, p_present=0.5, rng=np.random.default_rng(2))
    assert never[1] == 0.0 and len(never[0]) == 1


def test_anchor_map_is_binary_superpixel_mask() -> None:
    shape = (1, 16, 16)
    model, x = _model(shape), _smooth_images(2, shape)
    t = torch.as_tensor(select_targets(model, x, None, "predicted"))
    maps = explain(model, x, t, "anchors", n_segments=6, n_samples=8, max_anchor_size=3, seed=3)
    assert set(np.unique(maps)) <= {0.0, 1.0} and maps.reshape(2, -1).max(1).min() == 1.0
    seg = slic_segments(x, n_segments=6, compactness=10.0)
    for n in range(2):  # the mask is a union of whole superpixels
        for k in np.unique(seg[n]):
            assert len(np.unique(maps[n, 0][seg[n] == k])) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_for_deterministic_methods() -> None:
    shape = (3, 32, 32)
    model, x, t = _model(shape), _smooth_images(3, shape), torch.tensor([0, 4, 7])
    for name in ("saliency", "integratedgradients", "deeplift", "gradcam", "gradcampp", "occlusion"):
        cpu = explain(model, x, t, name, **TINY.get(name, {}))
        gpu = explain(model, x, t, name, device="cuda", **TINY.get(name, {}))
        np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-5, err_msg=name)
    for name in ("smoothgrad", "lime", "shapley", "anchors"):
        a = explain(model, x, t, name, device="cuda", seed=3, **TINY[name])
        np.testing.assert_array_equal(a, explain(model, x, t, name, device="cuda", seed=3, **TINY[name]))
    model.cpu()


def test_kernelshap_with_one_superpixel_is_exact_shapley_value() -> None:
    # Pure RGB noise in Lab space collapses to one SLIC segment; the Shapley value is then f(x) - f(b).
    model, x, t = _model((3, 16, 16)), torch.rand(2, 3, 16, 16), torch.tensor([3, 5])
    assert all(s.max() == 0 for s in slic_segments(x, n_segments=4, compactness=10.0))
    maps = explain(model, x, t, "kernelshap", n_segments=4, baseline=0.1)
    with torch.no_grad():
        gap = (model(x) - model(torch.full_like(x, 0.1)))[torch.arange(2), t]
    np.testing.assert_allclose(maps, gap.numpy()[:, None, None, None] * np.ones((2, 3, 16, 16)), rtol=1e-5)


def test_lrp_leaves_the_model_as_it_came() -> None:
    model = _model((1, 12, 12))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    explain(model, torch.rand(2, 1, 12, 12), torch.tensor([0, 1]), "lrp", epsilon=1e-6)
    bad = MobileNetV2CIFAR((3, 32, 32), 10).eval()
    with pytest.raises(DeepLeakError):
        explain(bad, torch.rand(1, 3, 32, 32), torch.zeros(1, dtype=torch.long), "lrp")
    for net in (model, bad):
        assert not any(hasattr(m, "rule") or hasattr(m, "activations") for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
