"""YAML parameter profiles: ``params/<profile>/<chapter-stem>.yaml``.

A profile is a folder of YAML files, one per chapter, whose keys are exactly the names in that
chapter notebook's ``parameters`` cell (checked, so a typo fails loudly instead of being ignored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import DeepLeakError
from .paths import params_dir


def available_profiles(root: Path | None = None) -> list[str]:
    base = root or params_dir()
    return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def load_params(profile: str, stem: str, root: Path | None = None) -> dict[str, Any]:
    """The parameter mapping of one chapter in one profile."""
    base = root or params_dir()
    profiles = available_profiles(base)
    if profile not in profiles:
        raise DeepLeakError(f"unknown profile {profile!r}; choose one of: {', '.join(profiles) or '(none found)'}")
    path = base / profile / f"{stem}.yaml"
    if not path.is_file():
        raise DeepLeakError(f"profile {profile!r} has no parameters for chapter {stem!r}: create {path}")
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        first = str(err).splitlines()[0]
        raise DeepLeakError(f"{path} is not valid YAML ({first}); fix the file") from err
    if not isinstance(params, dict):
        raise DeepLeakError(f"{path} must be a mapping of parameter names to values")
    return params
