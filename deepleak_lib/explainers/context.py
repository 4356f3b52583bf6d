"""Per-call state shared by every explainer: device, seed, memory budget, reference data.

Randomness is explicit (house rule 9): each stochastic step derives its own seed from the caller's
``seed`` and a stable key (a sample's index in the call, or a batch's start index), and draws inside a
forked RNG scope, so nothing global is left seeded after a call and nothing is seeded at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..seeding import derive_seed, torch_seeded

__all__ = ["BatchFn", "Builder", "RunContext", "derive_seed", "numpy_rng", "torch_seeded"]


@dataclass(frozen=True)
class RunContext:
    """What an explainer needs besides the model, its settings and a batch.

    ``max_rows`` bounds the number of rows in any single forward/backward pass of the model; it is the
    memory knob (activation memory grows linearly with it) and never changes a deterministic map.
    ``reference_inputs`` is the example pool that ProtoDash selects prototypes from (on ``device``).
    """

    device: torch.device
    seed: int
    max_rows: int
    reference_inputs: torch.Tensor | None = None


def numpy_rng(seed: int, *keys: int) -> np.random.Generator:
    """A NumPy generator for our own samplers (Anchors, ProtoDash tie-breaks)."""
    return np.random.default_rng(derive_seed(seed, *keys))


# An explainer is built once per ``explain`` call (Captum objects, deep copies, reference embeddings)
# and then called per batch: (inputs on device, targets on device, index of the batch's first sample
# in the call) -> maps of shape (n, C, H, W) or (n, 1, H, W) (broadcast over channels by the engine).
BatchFn = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
Builder = Callable[[nn.Module, dict[str, Any], RunContext], BatchFn]
