"""Device selection with a precise error for unknown or unavailable devices."""

from __future__ import annotations

import torch

from .errors import DeepLeakError

VALID = ("cpu", "cuda", "auto")


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present, else CPU)."""
    base = name.split(":", 1)[0]
    if base not in VALID:
        raise DeepLeakError(f"unknown device {name!r}; use one of: cpu, cuda, cuda:N, auto")
    if base == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise DeepLeakError(f"device {name!r} requested but no CUDA GPU is visible; set device: cpu")
    return torch.device(name)
