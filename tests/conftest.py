"""Shared fixtures: a temporary artifact cache and tiny analytic data."""

from __future__ import annotations

import numpy as np
import pytest

from deepleak_lib.cache import ArtifactCache


@pytest.fixture
def cache(tmp_path):
    return ArtifactCache(tmp_path / "cache")


@pytest.fixture
def labels():
    """Ten classes, 60 samples each, shuffled."""
    return np.random.default_rng(0).permutation(np.repeat(np.arange(10), 60))
