"""Where things live: the repository root, data, results and the artifact cache.

Paths are resolved from the repository root (found by walking up from the working directory, or set
by ``DEEPLEAK_ROOT``) so notebooks behave the same when run from ``notebooks/``, the root, or papermill.
"""

from __future__ import annotations

import os
from pathlib import Path

_MARKERS = ("_toc.yml", "deepleak_lib")


def repo_root() -> Path:
    env = os.environ.get("DEEPLEAK_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for cand in (here, *here.parents):
        if all((cand / m).exists() for m in _MARKERS):
            return cand
    # Installed outside a checkout: everything goes under the working directory.
    return here


def data_dir() -> Path:
    return Path(os.environ.get("DEEPLEAK_DATA", repo_root() / "data"))


def results_dir(profile: str) -> Path:
    return repo_root() / "results" / profile


def cache_dir() -> Path:
    """Shared by all profiles: keys already include every parameter, so profiles cannot collide."""
    return Path(os.environ.get("DEEPLEAK_CACHE", repo_root() / "results" / "cache"))


def params_dir() -> Path:
    return repo_root() / "params"
