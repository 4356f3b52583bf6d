"""Device selection with a precise error for unknown or unavailable devices."""

from __future__ import annotations

import torch

from .errors import DeepLeakError

VALID = ("cpu", "cuda", "auto")


def resolve_device(name: str | torch.device) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present, else CPU); a torch.device passes through."""
    if isinstance(name, torch.device):
        name = str(name)
    if not isinstance(name, str) or name.split(":", 1)[0] not in VALID:
        raise DeepLeakError(f"unknown device {name!r}; use one of: cpu, cuda, cuda:N, auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise DeepLeakError(f"unknown device {name!r}; use one of: cpu, cuda, cuda:N, auto") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeepLeakError(f"device {name!r} requested but no CUDA GPU is visible; set device: cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeepLeakError(f"device {name!r} does not exist: {torch.cuda.device_count()} CUDA device(s)")
    return dev
