"""Per-sample signals on hand-computable maps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deepleak_lib.errors import DeepLeakError
from deepleak_lib.signals import SIGNAL_NAMES, compute_signals


def test_names_shapes_and_dtype() -> None:
    maps = np.random.default_rng(0).normal(size=(5, 1, 4, 4)).astype(np.float32)
    sig = compute_signals(maps)
    assert tuple(sig) == SIGNAL_NAMES
    for name in SIGNAL_NAMES:
        assert sig[name].shape == (5,) and sig[name].dtype == np.float64 and np.isfinite(sig[name]).all()


def test_one_hot_and_constant_vectors() -> None:
    n = 8
    one_hot = np.zeros(n)
    one_hot[3] = -2.0
    const = np.full(n, 0.5)
    sig = compute_signals(np.stack([one_hot, const]), topk_frac=0.25)  # k = 2 of 8
    np.testing.assert_allclose(sig["gini"], [1 - 1 / n, 0.0], atol=1e-12)
    np.testing.assert_allclose(sig["hoyer"], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(sig["entropy"], [0.0, math.log(n)], atol=1e-12)
    np.testing.assert_allclose(sig["topk_mass"], [1.0, 2 / n])
    np.testing.assert_allclose(sig["l1"], [2.0, 4.0])
    np.testing.assert_allclose(sig["l2"], [2.0, math.sqrt(n * 0.25)])
    np.testing.assert_allclose(sig["linf"], [2.0, 0.5])
    np.testing.assert_allclose(sig["variance"], [np.var(one_hot), 0.0])
    np.testing.assert_allclose(sig["near_zero_frac"], [(n - 1) / n, 0.0])


def test_hand_computed_mixed_vector() -> None:
    a = np.array([[-3.0, 0.0, 4.0, 0.0005]])
    sig = compute_signals(a, topk_frac=0.25, near_zero_tol=1e-3)
    c = np.sort(np.abs(a[0]))  # [0, 0.0005, 3, 4]
    l1 = c.sum()
    gini = 1 - 2 * sum(c[k] / l1 * (4 - (k + 1) + 0.5) / 4 for k in range(4))
    np.testing.assert_allclose(sig["gini"], [gini])
    l2 = math.sqrt(9 + 16 + 0.0005**2)
    np.testing.assert_allclose(sig["hoyer"], [(2 - l1 / l2) / (2 - 1)])
    p = c[c > 0] / l1
    np.testing.assert_allclose(sig["entropy"], [-(p * np.log(p)).sum()])
    np.testing.assert_allclose(sig["near_zero_frac"], [0.5])
    np.testing.assert_allclose(sig["topk_mass"], [4 / l1])
    np.testing.assert_allclose(sig["variance"], [np.var(a)])


def test_all_zero_maps_are_finite_with_documented_values() -> None:
    sig = compute_signals(np.zeros((2, 3, 5, 5), dtype=np.float32))
    for name in ("variance", "l1", "l2", "linf", "gini", "hoyer", "entropy", "topk_mass"):
        np.testing.assert_array_equal(sig[name], [0.0, 0.0], err_msg=name)
    np.testing.assert_array_equal(sig["near_zero_frac"], [1.0, 1.0])


def test_single_entry_maps_and_large_batches() -> None:
    sig = compute_signals(np.array([[2.0], [0.0]]))
    np.testing.assert_array_equal(sig["hoyer"], [0.0, 0.0])
    np.testing.assert_array_equal(sig["gini"], [0.0, 0.0])  # 1 - 1/n = 0 for n = 1
    big = np.random.default_rng(1).normal(size=(2500, 6))  # spans several internal chunks
    np.testing.assert_allclose(compute_signals(big)["l1"], np.abs(big).sum(1))


@pytest.mark.parametrize(
    ("maps", "kwargs", "pattern"),
    [
        (np.zeros(4), {}, "shape"),
        (np.array([[np.nan, 1.0]]), {}, "NaN"),
        (np.ones((1, 4)), {"topk_frac": 0.0}, "topk_frac"),
        (np.ones((1, 4)), {"near_zero_tol": -1.0}, "near_zero_tol"),
        (np.array([["a"]]), {}, "real numbers"),
    ],
)
def test_bad_input_raises(maps: np.ndarray, kwargs: dict, pattern: str) -> None:
    with pytest.raises(DeepLeakError, match=pattern):
        compute_signals(maps, **kwargs)
