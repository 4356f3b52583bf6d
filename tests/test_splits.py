"""Threat-model splits: disjoint, balanced, seeded, saved; keep masks balanced per candidate."""

from __future__ import annotations

import numpy as np
import pytest

from deepleak_lib.errors import DeepLeakError
from deepleak_lib.splits import SplitConfig, Splits, make_splits


def _cfg(**kw):
    base = {"n_members": 100, "n_shadow_members": 100, "n_shadow_models": 1, "n_reference_models": 4, "seed": 0}
    return SplitConfig(**{**base, **kw})


def test_disjoint_and_sized(labels):
    s = make_splits(labels, _cfg())
    parts = [s.target_members, s.target_nonmembers, s.shadow_pool]
    assert [len(p) for p in parts] == [100, 100, 200]
    assert len(np.unique(np.concatenate(parts))) == 400


def test_class_balance(labels):
    s = make_splits(labels, _cfg())
    for part in (s.target_members, s.target_nonmembers, s.train_indices("shadow", 0)):
        counts = np.bincount(labels[part], minlength=10)
        assert counts.max() - counts.min() <= 1


def test_seeded(labels):
    a, b, c = make_splits(labels, _cfg()), make_splits(labels, _cfg()), make_splits(labels, _cfg(seed=1))
    assert np.array_equal(a.target_members, b.target_members)
    assert np.array_equal(a.reference_keep, b.reference_keep)
    assert not np.array_equal(a.target_members, c.target_members)


def test_reference_keep_every_candidate_in_half(labels):
    s = make_splits(labels, _cfg(n_reference_models=6))
    assert s.reference_keep.shape == (6, 200)
    assert (s.reference_keep.sum(0) == 3).all()
    # a reference model trains only on candidates and holds out the rest of them
    tr, ho = s.train_indices("reference", 2), s.heldout_indices("reference", 2)
    assert set(tr) | set(ho) == set(s.candidates) and not set(tr) & set(ho)


def test_shadow_members_and_nonmembers_partition_pool(labels):
    s = make_splits(labels, _cfg(n_shadow_models=3))
    for i in range(3):
        tr, ho = s.train_indices("shadow", i), s.heldout_indices("shadow", i)
        assert set(tr) | set(ho) == set(s.shadow_pool) and not set(tr) & set(ho)
        assert not set(tr) & set(s.candidates)  # shadow models never see the target's candidates


def test_save_load_roundtrip(labels, tmp_path):
    s = make_splits(labels, _cfg())
    s.save(tmp_path / "s.npz")
    t = Splits.load(tmp_path / "s.npz")
    for name in ("target_members", "target_nonmembers", "shadow_pool", "shadow_keep", "reference_keep"):
        assert np.array_equal(getattr(s, name), getattr(t, name))


@pytest.mark.parametrize(
    "kw, fragment",
    [
        ({"n_members": -5}, "n_members must be >= 1"),
        ({"n_members": 1000}, "lower n_members"),
        ({"n_reference_models": 1}, "0 or >= 2"),
        ({"n_shadow_models": 0}, "n_shadow_models must be >= 1"),
    ],
)
def test_invalid_sizes(labels, kw, fragment):
    with pytest.raises(DeepLeakError, match=fragment) as err:
        make_splits(labels, _cfg(**kw))
    assert "\n" not in str(err.value)
