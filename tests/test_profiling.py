"""End-to-end leakage profiling on a tiny study: artifacts, guardrails, the tidy table."""

from __future__ import annotations

import numpy as np
import pytest

from deepleak_lib.attributions import (
    ExplainConfig,
    attributions_artifact,
    explain_configs,
    explain_indices,
    load_maps,
)
from deepleak_lib.errors import DeepLeakError
from deepleak_lib.profiling import (
    PREDICTION_ONLY,
    ProfilingConfig,
    negative_control,
    profile,
    relative_increase,
)
from deepleak_lib.study import SetupConfig, Study

ATTACKS = ("deepleak_cnn", "shokri_threshold_variance", "lira_variance", "loss_threshold",
           "multisignal_calibrated")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    cfg = SetupConfig(dataset="digits", n_members=60, n_shadow_members=60, n_reference_models=4, epochs=3)
    return Study(cfg, cache=tmp_path_factory.mktemp("cache"))


def test_explained_sets_are_balanced_and_shared(study):
    t_idx, t_mem = explain_indices(study, "target", 0, 20)
    r_idx, r_mem = explain_indices(study, "reference", 1, 20)
    s_idx, s_mem = explain_indices(study, "shadow", 0, 20)
    assert t_mem.sum() == 20 and len(t_mem) == 40 and s_mem.sum() == 20
    assert np.array_equal(t_idx, r_idx)  # references explain exactly the target's candidates
    keep = study.splits.reference_keep[1]
    assert np.array_equal(r_mem.astype(bool), np.isin(r_idx, study.splits.candidates[keep]))
    assert not set(s_idx) & set(t_idx)
    with pytest.raises(DeepLeakError, match="lower n_per_group"):
        explain_indices(study, "target", 0, 10_000)


def test_attributions_are_cached_and_labelled(study):
    cfg = ExplainConfig("saliency")
    a = attributions_artifact(study, "target", 0, cfg, 10)
    b = attributions_artifact(study, "target", 0, cfg, 10)
    assert a.key == b.key
    d = load_maps(a)
    assert d["maps"].shape == (20, 1, 8, 8) and np.isfinite(d["maps"]).all()
    assert a.meta["config"]["settings"] == {"abs": True} and a.meta["config"]["target_policy"] == "true"
    c = attributions_artifact(study, "target", 0, ExplainConfig("saliency", {"abs": False}), 10)
    assert c.key != a.key


def test_members_and_nonmembers_explained_identically(study):
    """The map of a sample does not depend on which group it was explained in."""
    from deepleak_lib.explainers import explain

    d = load_maps(attributions_artifact(study, "target", 0, ExplainConfig("saliency"), 10))
    model = study.load_model("target")
    x = study.query(d["indices"])
    again = explain(model, x[::-1].copy(), d["targets"][::-1].copy(), "saliency", abs=True)[::-1]
    np.testing.assert_allclose(again, d["maps"], rtol=1e-5, atol=1e-6)


def test_profile_table_is_tidy_and_complete(study):
    cfgs = explain_configs(["saliency", "gradcam"], {}, seed=0)
    pcfg = ProfilingConfig(ATTACKS, (0, 1), 20, n_boot=20, attack_overrides={"deepleak_cnn": {"epochs": 1}})
    table = profile(study, cfgs, pcfg, progress=False)
    map_attacks = [a for a in ATTACKS if a != "loss_threshold"]
    # every (explainer, map attack, seed), the oracle rows, and the prediction-only baseline per seed
    assert len(table) == 2 * len(map_attacks) * 2 + 2 * 3 + 2
    assert set(table.explainer) == {"saliency", "gradcam", PREDICTION_ONLY}
    assert table[table.oracle].attack.str.startswith("oracle_threshold").all()
    for col in ("auc", "balanced_accuracy", "advantage", "tpr_at_fpr_0.001", "tpr_at_fpr_0.01"):
        assert table[col].between(0, 1).all()
    assert (table.auc_lo <= table.auc_hi).all()
    assert (table.n_members == table.n_nonmembers).all()
    # same seed, same table: rerunning loads every artifact and reproduces the numbers
    again = profile(study, cfgs, pcfg, progress=False)
    assert again.drop(columns="artifact").equals(table.drop(columns="artifact"))


def test_negative_control_is_chance(study):
    """The fitted attacks score a model that never saw the candidates: chance, within the CI."""
    cfgs = explain_configs(["saliency"], {}, seed=0)
    pcfg = ProfilingConfig(("lira_confidence", "shokri_threshold_variance"), (0,), 30, n_boot=200)
    table = profile(study, cfgs, pcfg, progress=False)
    for attack in ("lira_confidence", "shokri_threshold_variance"):
        art = study.cache.lookup("attack", table[table.attack == attack].artifact.iloc[0])
        nc = negative_control(study, art, n_boot=200)
        assert nc["auc_lo"] <= 0.5 <= nc["auc_hi"] and nc["n"] == 60


def test_null_control_labels_follow_the_target(study):
    idx, member = explain_indices(study, "shadow", 0, 20, null_control=True)
    t_idx, t_member = explain_indices(study, "target", 0, 20)
    assert np.array_equal(idx, t_idx) and np.array_equal(member, t_member)
    assert not set(idx) & set(study.splits.train_indices("shadow", 0))  # the shadow never saw them
    with pytest.raises(DeepLeakError, match="shadow model only"):
        explain_indices(study, "target", 0, 20, null_control=True)


def test_relative_increase_against_hand_values():
    y = np.r_[np.ones(50), np.zeros(50)].astype(int)
    perfect = y.astype(float)
    half = np.r_[np.ones(25), np.zeros(25), np.zeros(50)].astype(float)  # auc 0.75
    r = relative_increase(perfect, half, y, "auc", n_boot=20)
    assert r["value"] == pytest.approx((1.0 - 0.75) / 0.75)


def test_invalid_profiling_config():
    with pytest.raises(DeepLeakError, match="unknown attack"):
        ProfilingConfig(("nope",), (0,), 10).validate()
    with pytest.raises(DeepLeakError, match="not in attacks"):
        ProfilingConfig(("lira_l1",), (0,), 10, attack_overrides={"deepleak_cnn": {}}).validate()
    with pytest.raises(DeepLeakError, match="unknown setting"):
        explain_configs(["saliency"], {"saliency": {"steps": 3}}, seed=0)
