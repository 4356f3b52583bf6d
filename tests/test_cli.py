"""Bad input through the command line: one line naming the fix, non-zero exit, no partial artifact."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deepleak_lib.errors import DeepLeakError
from deepleak_lib.study import SetupConfig

REPO = Path(__file__).resolve().parents[1]


def _project(tmp_path: Path, **overrides) -> Path:
    """A copy of the repo's smoke profile under a temporary root, with some keys overridden."""
    root = tmp_path / "proj"
    (root / "params" / "p").mkdir(parents=True)
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    (root / "deepleak_lib").mkdir()
    (root / "_toc.yml").write_text("")
    params = yaml.safe_load((REPO / "params" / "smoke" / "00_setup.yaml").read_text())
    params.update(overrides)
    (root / "params" / "p" / "00_setup.yaml").write_text(yaml.safe_dump(params))
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEEPLEAK_ROOT": str(root), "DEEPLEAK_CACHE": str(root / "cache")}
    return subprocess.run([sys.executable, "-m", "deepleak_lib", *args], capture_output=True, text=True,
                          env=env, cwd=root, timeout=300)


def _assert_clean_failure(proc: subprocess.CompletedProcess, fragment: str, root: Path) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepleak: error:"), proc.stderr
    assert fragment in lines[0]
    cache = root / "cache"
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*")), "partial artifact left behind"


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"dataset": "imagenet"}, "unknown dataset 'imagenet'; choose one of"),
        ({"model": "vgg"}, "unknown model 'vgg'"),
        ({"n_members": -5}, "n_members must be >= 1"),
        ({"n_members": 5000}, "lower n_members"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
        ({"dataset": "cifar10"}, "place"),
        ({"epochs": "many"}, "epochs must be a number"),
    ],
)
def test_setup_bad_input(tmp_path, overrides, fragment):
    root = _project(tmp_path, **overrides)
    _assert_clean_failure(_run(root, "setup", "--profile", "p", "--quiet"), fragment, root)


def test_unknown_profile_and_chapter(tmp_path):
    root = _project(tmp_path)
    _assert_clean_failure(_run(root, "setup", "--profile", "nope"), "unknown profile 'nope'; choose one of: p", root)
    _assert_clean_failure(_run(root, "run", "99_nope", "--profile", "p"), "unknown chapter '99_nope'", root)


def test_unknown_parameter_key_is_rejected(tmp_path):
    root = _project(tmp_path, n_memebrs=10)
    proc = _run(root, "run", "00_setup", "--profile", "p", "--quiet")
    _assert_clean_failure(proc, "n_memebrs", root)
    assert not (root / "results" / "p" / "00_setup" / "00_setup.ipynb").exists()


def test_failing_notebook_leaves_no_output(tmp_path):
    root = _project(tmp_path)
    (root / "notebooks" / "00_setup.md").write_text(
        (REPO / "notebooks" / "00_setup.md").read_text().replace("study = Study(cfg)", "study = Study(cfg)\n1 / 0")
    )
    proc = _run(root, "run", "00_setup", "--profile", "p", "--quiet")
    assert proc.returncode == 2 and "ZeroDivisionError" in proc.stderr
    out_dir = root / "results" / "p" / "00_setup"
    assert not (out_dir / "00_setup.ipynb").exists()
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".run-")]


def test_setup_config_rejects_bad_types_in_python():
    with pytest.raises(DeepLeakError, match="augment must be true or false"):
        SetupConfig.from_dict({"augment": "yes"})
    with pytest.raises(DeepLeakError, match="n_reference_models must be even"):
        SetupConfig(n_reference_models=3).validate()


def test_make_rejects_unknown_profile():
    proc = subprocess.run(["make", "-n", "book", "PROFILE=nope"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "unknown PROFILE 'nope': choose one of: default paper smoke" in proc.stderr
