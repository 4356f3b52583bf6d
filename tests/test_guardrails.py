"""Guardrails of the leakage pipeline: failing batches are never skipped, maps are never NaN."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepleak_lib.errors import DeepLeakError
from deepleak_lib.explainers import explain


class _Tripwire(nn.Module):
    """A tiny CNN that fails (or returns NaN) on inputs carrying a sentinel value."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(2 * 8 * 8, 3)
        self.mode = mode

    @property
    def cam_layer(self) -> nn.Module:
        return self.conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc(self.relu(self.conv(x)).reshape(x.shape[0], -1))
        hit = (x.detach().amax(dim=(1, 2, 3)) > 5).reshape(-1, 1)
        if self.mode == "raise" and hit.any():
            raise RuntimeError("sentinel input")
        if self.mode == "nan":  # NaN that reaches the gradient, as an overflowing model would give
            out = torch.where(hit, out * x.sum(dim=(1, 2, 3)).reshape(-1, 1) * float("nan"), out)
        return out


def _inputs() -> np.ndarray:
    x = np.random.default_rng(0).random((8, 1, 8, 8)).astype(np.float32)
    x[6, 0, 0, 0] = 10.0  # the sentinel sits in the second batch of four
    return x


def test_failing_batch_raises_and_names_the_samples():
    with pytest.raises(DeepLeakError, match=r"failed on samples 4\.\.7") as err:
        explain(_Tripwire("raise"), _inputs(), np.zeros(8, np.int64), "saliency", batch_size=4)
    assert "\n" not in str(err.value)


def test_nan_maps_raise_instead_of_being_dropped():
    with pytest.raises(DeepLeakError, match="non-finite|NaN"):
        explain(_Tripwire("nan"), _inputs(), np.zeros(8, np.int64), "saliency", batch_size=4)


def test_clean_inputs_pass():
    x = _inputs()
    x[6, 0, 0, 0] = 0.5
    maps = explain(_Tripwire("raise"), x, np.zeros(8, np.int64), "saliency", batch_size=4)
    assert maps.shape == x.shape and np.isfinite(maps).all()
