"""Facts for the reproducibility page: versions, device, git revision and per-notebook run times."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from .paths import repo_root, results_dir

PACKAGES = ("deepleak", "torch", "torchvision", "captum", "numpy", "scipy", "scikit-learn", "scikit-image",
            "pandas", "matplotlib", "mlxtend", "papermill", "jupytext", "jupyter-book", "myst-nb")


def git_revision(root: Path | None = None) -> str:
    """HEAD's SHA (with ``-dirty`` when the tree has changes), or 'unknown' outside a git checkout."""
    root = root or repo_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def environment_table() -> pd.DataFrame:
    """One row per fact: platform, Python, package versions, compute device."""
    import torch

    rows = [("python", platform.python_version()), ("platform", platform.platform()),
            ("cpu cores", str(os.cpu_count())), ("torch threads", str(torch.get_num_threads())),
            ("cuda", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"),
            ("git revision", git_revision())]
    for pkg in PACKAGES:
        try:
            rows.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            rows.append((pkg, "not installed"))
    return pd.DataFrame(rows, columns=["item", "value"])


def run_times(profile: str) -> pd.DataFrame:
    """Wall time of every executed chapter, read from papermill's notebook metadata."""
    rows = []
    for nb in sorted(results_dir(profile).glob("*/*.ipynb")):
        meta = json.loads(nb.read_text()).get("metadata", {}).get("papermill", {})
        rows.append({"chapter": nb.stem, "seconds": meta.get("duration"), "finished": meta.get("end_time")})
    return pd.DataFrame(rows, columns=["chapter", "seconds", "finished"])
