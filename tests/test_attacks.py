"""Attack suite on synthetic fixtures: separable signals, shifted Gaussians, negative controls."""

from __future__ import annotations

import inspect
from dataclasses import fields

import numpy as np
import pytest
import torch

from deepleak_lib.attacks import (
    ATTACKS,
    FEATURE_KINDS,
    MAP_STATISTICS,
    PREDICTION_SIGNALS,
    Attack,
    CalibratedMultiSignal,
    DeepLeakCNN,
    DeepLeakCNNPred,
    LiRAAttack,
    LossThresholdAttack,
    MultiSignalLiRA,
    ReferenceSet,
    ShadowSet,
    TargetQuery,
    ThresholdAttack,
    build_attack,
    get_attack,
    joint_lira,
    lira,
    lira_leave_one_out,
    logit_confidence,
    logit_confidence_from_logits,
    loss_from_probs,
    map_statistic,
    oracle_threshold,
)
from deepleak_lib.attacks.nets import build_map_classifier
from deepleak_lib.errors import DeepLeakError
from deepleak_lib.metrics import attack_metrics, auc, bootstrap_ci

# ---------------------------------------------------------------- fixtures


def _balanced_labels(n: int) -> np.ndarray:
    return np.r_[np.ones(n // 2), np.zeros(n - n // 2)].astype(np.int8)


def _reference_pool(
    rng: np.random.Generator, n_models: int, n_samples: int, shift: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample Gaussian statistic: a sample-specific mean, noise 0.5, members shifted by ``shift``."""
    base = rng.normal(0.0, 1.0, n_samples)
    keep = rng.random((n_models, n_samples)) < 0.5
    ref = base + 0.5 * rng.normal(size=keep.shape) + shift * keep
    target_keep = rng.random(n_samples) < 0.5
    target = base + 0.5 * rng.normal(size=n_samples) + shift * target_keep
    return ref, keep, target, target_keep.astype(np.int8)


def _tiny_maps(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """1x8x8 noise maps; members carry a bright 3x3 patch."""
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n)
    x = rng.normal(0.0, 1.0, (n, 1, 8, 8)).astype(np.float32)
    x[y == 1, 0, 2:5, 2:5] += 2.0
    return x, y


# ---------------------------------------------------------------- the interface


def test_fit_and_score_cannot_receive_target_labels() -> None:
    assert list(inspect.signature(Attack.fit).parameters) == ["self", "data", "seed"]
    assert inspect.signature(Attack.fit).parameters["seed"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(inspect.signature(Attack.score).parameters) == ["self", "query"]
    assert {f.name for f in fields(TargetQuery)} == {"features", "predictions"}
    for spec in ATTACKS.values():
        attack = spec.build()
        # No attack overrides the guarded entry points, so the checks above hold for all of them.
        assert type(attack).fit is Attack.fit and type(attack).score is Attack.score
    x = np.r_[np.zeros(5), np.ones(5)]
    attack = ThresholdAttack()
    with pytest.raises(DeepLeakError, match="fits on a ShadowSet"):
        attack.fit(TargetQuery(x), seed=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        attack.fit(ShadowSet(x, _balanced_labels(10)), _balanced_labels(10), seed=0)  # type: ignore[call-arg]
    with pytest.raises(DeepLeakError, match="not fitted"):
        ThresholdAttack().score(TargetQuery(x))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (ShadowSet(np.zeros(4), np.array([0, 1, 1])), "shape .4,."),
        (ShadowSet(np.zeros(4), np.array([0, 1, 2, 1])), "0 .non-member. or 1"),
        (ShadowSet(np.zeros(4), np.array([1, 1, 1, 1])), "both shadow members and non-members"),
        (ShadowSet(np.array([0.0, np.nan, 1.0, 2.0]), np.array([0, 1, 0, 1])), "NaN"),
        (ShadowSet(np.zeros(0), np.zeros(0)), "empty"),
        (ShadowSet(np.zeros(4), np.array([0, 1, 0, 1]), predictions=np.ones((3, 2))), "predictions"),
    ],
)
def test_shadow_validation_errors(data: ShadowSet, match: str) -> None:
    with pytest.raises(DeepLeakError, match=match) as info:
        ThresholdAttack().fit(data, seed=0)
    assert "\n" not in str(info.value)


def test_other_validation_errors() -> None:
    with pytest.raises(DeepLeakError, match="unbalanced"):
        ShadowSet(np.zeros(10), np.r_[np.ones(8), np.zeros(2)]).validate(require_balanced=True)
    with pytest.raises(DeepLeakError, match="keep mask shape"):
        LiRAAttack().fit(ReferenceSet(np.zeros((4, 5)), np.zeros((4, 6), bool)), seed=0)
    with pytest.raises(DeepLeakError, match="one value per reference-pool sample"):
        lira(np.zeros(3), np.zeros((4, 5)), np.eye(4, 5, dtype=bool) | np.eye(4, 5, 1, dtype=bool))
    with pytest.raises(DeepLeakError, match="unknown DeepLeak CNN settings"):
        DeepLeakCNN(epoch=3)
    with pytest.raises(DeepLeakError, match="choose from"):
        build_attack("lira_variance", onlin=False)


# ---------------------------------------------------------------- registry


def test_registry() -> None:
    assert all(name == spec.name for name, spec in ATTACKS.items())
    assert len({s.name for s in ATTACKS.values()}) == len(ATTACKS)
    for spec in ATTACKS.values():
        assert spec.description and spec.citation
        assert set(spec.needs) <= set(FEATURE_KINDS)
        assert set(spec.signals) <= set(MAP_STATISTICS) | set(PREDICTION_SIGNALS)
        assert set(spec.build().hyperparameters()) == set(spec.hyperparameters)  # everything recorded
    assert {"deepleak_cnn", "deepleak_cnn_pred", "shokri_threshold_variance", "lira_variance"} <= set(ATTACKS)
    with pytest.raises(DeepLeakError, match="unknown attack 'nope'; choose one of: deepleak_cnn"):
        get_attack("nope")


# ---------------------------------------------------------------- threshold attacks


def test_threshold_attack_perfect_on_separable_stats_learns_direction() -> None:
    rng = np.random.default_rng(0)
    y = _balanced_labels(200)
    # Members have the LOWER statistic: the direction must be learned from the shadow set.
    shadow = np.where(y == 1, rng.uniform(0, 1, 200), rng.uniform(2, 3, 200))
    target = np.where(y == 1, rng.uniform(0, 1, 200), rng.uniform(2, 3, 200))
    attack = ThresholdAttack().fit(ShadowSet(shadow, y), seed=0)
    scores = attack.score(TargetQuery(target))
    assert attack.direction_ == -1
    m = attack_metrics(scores, y, threshold=attack.threshold_)
    assert m["auc"] == 1.0 and m["tpr_at_fpr_0.001"] == 1.0 and m["balanced_accuracy"] == 1.0


def test_threshold_attack_on_map_variance() -> None:
    rng = np.random.default_rng(1)
    y = _balanced_labels(100)
    scale = np.where(y == 1, 3.0, 1.0)[:, None, None, None]
    shadow = rng.normal(size=(100, 1, 6, 6)) * scale
    target = rng.normal(size=(100, 1, 6, 6)) * scale
    attack = build_attack("shokri_threshold_variance").fit(ShadowSet(shadow, y), seed=0)
    assert auc(attack.score(TargetQuery(target)), y) > 0.95
    np.testing.assert_allclose(map_statistic(target, "variance"), target.reshape(100, -1).var(axis=1))


def test_oracle_threshold_is_tagged() -> None:
    y = _balanced_labels(20)
    stat = np.where(y == 1, -1.0, 1.0) + np.linspace(0, 0.1, 20)
    result = oracle_threshold(stat, y)
    assert result.oracle is True and "upper bound" in result.note
    assert result.direction == -1 and result.balanced_accuracy == 1.0


def test_loss_threshold_attack() -> None:
    rng = np.random.default_rng(2)
    y = _balanced_labels(400)
    shadow_loss = rng.exponential(np.where(y == 1, 0.2, 1.0))
    target_loss = rng.exponential(np.where(y == 1, 0.2, 1.0))
    attack = LossThresholdAttack().fit(ShadowSet(shadow_loss, y), seed=0)
    scores = attack.score(TargetQuery(target_loss))
    np.testing.assert_array_equal(scores, -target_loss)
    assert auc(scores, y) > 0.75


# ---------------------------------------------------------------- LiRA


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("fix_variance", [False, True])
def test_lira_detects_shifted_members(online: bool, fix_variance: bool) -> None:
    ref, keep, target, y = _reference_pool(np.random.default_rng(3), 16, 1000, shift=0.6)
    scores = lira(target, ref, keep, online=online, fix_variance=fix_variance)
    assert scores.shape == (1000,) and np.isfinite(scores).all()
    assert auc(scores, y) > 0.7


def test_lira_learns_direction_from_references_when_members_move_down() -> None:
    ref, keep, target, y = _reference_pool(np.random.default_rng(4), 16, 1000, shift=-0.6)
    assert auc(lira(target, ref, keep, online=False), y) > 0.7
    attack = build_attack("lira_l2", online=False).fit(ReferenceSet(ref, keep), seed=0)
    assert attack.gaussians_.direction == -1  # type: ignore[attr-defined]


def test_lira_negative_control() -> None:
    rng = np.random.default_rng(5)
    ref, keep, _, _ = _reference_pool(rng, 16, 1000, shift=0.6)
    # No model trained on the target's samples: both "groups" are drawn from the OUT distribution.
    out_mean = np.where(~keep, ref, 0).sum(0) / np.maximum((~keep).sum(0), 1)
    target = out_mean + 0.5 * rng.normal(size=1000)
    y = _balanced_labels(1000)[rng.permutation(1000)]
    for online in (True, False):
        scores = lira(target, ref, keep, online=online)
        lo, hi = bootstrap_ci(scores, y, auc, n_boot=100, seed=0)
        assert lo <= 0.5 <= hi


def test_lira_samples_without_in_or_out_references() -> None:
    ref, keep, target, y = _reference_pool(np.random.default_rng(6), 8, 300, shift=0.6)
    keep[:, 0] = False  # no IN reference
    keep[:, 1] = True  # no OUT reference
    keep[:, 2] = np.arange(8) == 0  # a single IN reference: pooled variance
    for online in (True, False):
        for fix_variance in (False, True):
            scores = lira(target, ref, keep, online=online, fix_variance=fix_variance)
            assert np.isfinite(scores).all()
    with pytest.raises(DeepLeakError, match="use online=False"):
        lira(target, ref, np.zeros_like(keep))
    with pytest.raises(DeepLeakError, match="pass direction"):
        lira(target, ref, np.zeros_like(keep), online=False)
    assert np.isfinite(lira(target, ref, np.zeros_like(keep), online=False, direction=1)).all()


def test_lira_leave_one_out_and_attack_threshold() -> None:
    ref, keep, target, y = _reference_pool(np.random.default_rng(7), 8, 500, shift=0.8)
    scores, labels = lira_leave_one_out(ref, keep)
    assert scores.shape == labels.shape == (8, 500)
    assert auc(scores.ravel(), labels.ravel()) > 0.7
    attack = LiRAAttack(signal="variance").fit(ReferenceSet(ref, keep), seed=0)
    m = attack_metrics(attack.score(TargetQuery(target)), y, threshold=attack.threshold_)
    assert m["balanced_accuracy_oracle"] is False and m["balanced_accuracy"] > 0.6


def test_map_statistics_by_hand() -> None:
    flat = np.ones((1, 1, 4, 4))
    one_hot = np.zeros((1, 1, 4, 4))
    one_hot[0, 0, 1, 2] = -3.0
    maps = np.concatenate([flat, one_hot])
    np.testing.assert_allclose(map_statistic(maps, "l1"), [16.0, 3.0])
    np.testing.assert_allclose(map_statistic(maps, "l2"), [4.0, 3.0])
    np.testing.assert_allclose(map_statistic(maps, "entropy"), [np.log(16), 0.0], atol=1e-12)
    np.testing.assert_allclose(map_statistic(maps, "gini"), [0.0, 1 - 1 / 16], atol=1e-12)
    np.testing.assert_allclose(map_statistic(np.zeros((1, 1, 2, 2)), "gini"), [0.0])
    with pytest.raises(DeepLeakError, match="unknown map statistic"):
        map_statistic(maps, "kurtosis")


def test_prediction_signals() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [1.0, 1e-20, 0.0], [0.25, 0.25, 0.5]])
    labels = np.array([0, 0, 2])
    conf = logit_confidence(probs, labels)
    np.testing.assert_allclose(conf, [np.log(9.0), np.log(1e20), 0.0])
    np.testing.assert_allclose(loss_from_probs(probs, labels), -np.log([0.9, 1.0, 0.5]))
    logits = np.array([[50.0, 0.0, -3.0], [1.0, 2.0, 3.0]])
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(
        logit_confidence_from_logits(logits, np.array([0, 2])), logit_confidence(p, [0, 2])
    )
    with pytest.raises(DeepLeakError, match="class labels"):
        logit_confidence(probs, np.array([0, 3, 1]))


# ---------------------------------------------------------------- multi-signal


def _complementary_pool(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two statistics sharing a large per-query nuisance z; members push them apart.

    s1 = a + z + 0.3 m + e1, s2 = -a + z - 0.3 m + e2 (z ~ N(0, 1), e ~ N(0, 0.3^2)): each alone is
    weak (z swamps the shift), s1 - s2 cancels z and is strong.
    """
    rng = np.random.default_rng(seed)
    n_models, n = 16, 1500
    a = rng.normal(size=n)

    def draw(k: np.ndarray) -> np.ndarray:
        z = rng.normal(size=k.shape)
        s1 = a + z + 0.3 * k + 0.3 * rng.normal(size=k.shape)
        s2 = -a + z - 0.3 * k + 0.3 * rng.normal(size=k.shape)
        return np.stack([s1, s2], axis=-1)

    keep = rng.random((n_models, n)) < 0.5
    target_keep = rng.random(n) < 0.5
    return draw(keep), keep, draw(target_keep), target_keep.astype(np.int8)


def test_multisignal_beats_single_signals_on_complementary_signals() -> None:
    ref, keep, target, y = _complementary_pool(8)
    singles = [auc(lira(target[:, j], ref[..., j], keep), y) for j in range(2)]
    assert max(singles) < 0.6
    mvn = MultiSignalLiRA(method="mvn").fit(ReferenceSet(ref, keep), seed=0)
    calibrated = CalibratedMultiSignal(n_pseudo_targets=8).fit(ReferenceSet(ref, keep), seed=0)
    auc_mvn = auc(mvn.score(TargetQuery(target)), y)
    auc_cal = auc(calibrated.score(TargetQuery(target)), y)
    assert auc_mvn > max(singles) + 0.15
    assert auc_cal > max(singles) + 0.15


def test_naive_bayes_adds_independent_evidence() -> None:
    rng = np.random.default_rng(9)
    n_models, n = 16, 1500
    base = rng.normal(size=(n, 2))
    keep = rng.random((n_models, n)) < 0.5
    target_keep = rng.random(n) < 0.5
    ref = base + 0.5 * rng.normal(size=(n_models, n, 2)) + 0.35 * keep[..., None]
    target = base + 0.5 * rng.normal(size=(n, 2)) + 0.35 * target_keep[:, None]
    y = target_keep.astype(np.int8)
    for online in (True, False):
        singles = [auc(lira(target[:, j], ref[..., j], keep, online=online), y) for j in range(2)]
        joint = auc(joint_lira(target, ref, keep, online=online), y)
        assert joint > max(singles) + 0.02


def test_multisignal_validation() -> None:
    ref, keep, target, _ = _complementary_pool(10)
    with pytest.raises(DeepLeakError, match="online only"):
        joint_lira(target, ref, keep, method="mvn", online=False)
    with pytest.raises(DeepLeakError, match="2 signals|carry 3 signals"):
        MultiSignalLiRA(signals=("a", "b", "c")).fit(ReferenceSet(ref, keep), seed=0)


# ---------------------------------------------------------------- DeepLeak CNN


@pytest.fixture(scope="module")
def tiny_cnn_runs() -> dict[str, np.ndarray]:
    xs, ys = _tiny_maps(200, seed=0)
    xt, _ = _tiny_maps(200, seed=1)
    rng_state = torch.random.get_rng_state()
    out = {}
    for key, seed in (("a", 0), ("b", 0), ("c", 1)):
        attack = DeepLeakCNN(epochs=3).fit(ShadowSet(xs, ys), seed=seed)
        out[key] = attack.score(TargetQuery(xt))
    out["global_rng_untouched"] = np.array(torch.equal(rng_state, torch.random.get_rng_state()))
    return out


def test_deepleak_cnn_learns_visible_pattern(tiny_cnn_runs: dict[str, np.ndarray]) -> None:
    _, yt = _tiny_maps(200, seed=1)
    scores = tiny_cnn_runs["a"]
    assert scores.shape == (200,) and ((scores > 0) & (scores < 1)).all()
    assert auc(scores, yt) > 0.8


def test_deepleak_cnn_is_seeded_without_global_rng(tiny_cnn_runs: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(tiny_cnn_runs["a"], tiny_cnn_runs["b"])
    assert not np.array_equal(tiny_cnn_runs["a"], tiny_cnn_runs["c"])
    assert bool(tiny_cnn_runs["global_rng_untouched"])


def test_deepleak_cnn_pred_variant_and_errors() -> None:
    xs, ys = _tiny_maps(40, seed=2)
    probs = np.random.default_rng(0).dirichlet(np.ones(4), 40)
    attack = DeepLeakCNNPred(epochs=1, batch_size=16).fit(ShadowSet(xs, ys, probs), seed=0)
    assert attack.hyperparameters()["use_predictions"] is True
    assert attack.score(TargetQuery(xs, probs)).shape == (40,)
    assert attack.history_ and attack.best_epoch_ == 0
    with pytest.raises(DeepLeakError, match="pass predictions="):
        attack.score(TargetQuery(xs))
    with pytest.raises(DeepLeakError, match="fitted on"):
        attack.score(TargetQuery(xs[:, :, :6, :6], probs))
    with pytest.raises(DeepLeakError, match="unbalanced"):
        DeepLeakCNN(epochs=1).fit(ShadowSet(xs, np.r_[np.ones(35), np.zeros(5)].astype(int)), seed=0)


def test_mobilenet_trunk_for_cifar_sized_maps() -> None:
    net = build_map_classifier((3, 32, 32), trunk="auto", dropout=0.5, n_pred=10, width_mult=0.25)
    assert type(net.trunk).__name__ == "MobileNetV2Trunk"
    net.eval()
    with torch.no_grad():
        out = net(torch.zeros(2, 3, 32, 32), torch.zeros(2, 10))
    assert out.shape == (2,)
    assert type(
        build_map_classifier((1, 28, 28), trunk="auto", dropout=0.5, n_pred=0, width_mult=1.0).trunk
    ).__name__ == ("SmallTrunk")
