"""Explicit randomness: derived seeds, private generators, one ``seed_everything`` for notebooks."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 31-bit seed for a named sub-stream (e.g. ``derive_seed(0, "shadow", 3)``)."""
    text = "/".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch globals; called once by a notebook after its parameters cell.

    Library functions never rely on it (they take ``seed`` or a generator); it only makes ad-hoc
    notebook code reproducible.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def torch_seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the caller's RNG state afterwards.

    Needed where a library only draws from the global generators: layer initialisation, and Captum's
    NoiseTunnel / Lime / KernelShap / ShapleyValueSampling, which take no ``generator`` argument.
    ``manual_seed`` seeds every CUDA device, so every one is forked and restored.
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
