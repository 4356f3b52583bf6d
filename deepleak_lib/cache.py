"""Content-addressed artifact cache.

Every stage output (splits, weights, predictions, attributions, signals, metric tables) lives in
``<root>/<stage>/<key>/`` where ``key`` hashes the stage name, its config, the keys of the artifacts it
consumed and the source of the code that computed it. So:

* a repeated call loads instead of recomputing;
* a changed parameter changes the key of that stage and of everything downstream (and nothing else);
* a changed library module invalidates the artifacts it computed (the cache is not blind to code);
* writes are atomic: the stage writes into a private temporary folder that is renamed into place
  only after ``meta.json`` is written, so an interrupted run leaves no half artifact and simply
  resumes (the next call recomputes only what is missing).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import pkgutil
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

META = "meta.json"


def canonical_json(obj: Any) -> str:
    """Deterministic JSON for hashing (sorted keys, no whitespace, numpy scalars converted)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot hash config value of type {type(obj).__name__}")


def package_modules(package: ModuleType) -> list[ModuleType]:
    """A package and every module directly inside it (for ``code_fingerprint``)."""
    return [package, *(importlib.import_module(f"{package.__name__}.{m.name}")
                       for m in pkgutil.iter_modules(package.__path__))]


def code_fingerprint(modules: Iterable[ModuleType]) -> str:
    """Hash of the source text of ``modules``: part of a key so library changes invalidate artifacts."""
    h = hashlib.sha256()
    unique = {m.__name__: m for m in modules}  # a module listed twice counts once
    for mod in sorted(unique.values(), key=lambda m: m.__name__):
        h.update(mod.__name__.encode())
        h.update(inspect.getsource(mod).encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Artifact:
    """A finished artifact: its folder, key and recorded metadata."""

    stage: str
    key: str
    path: Path
    meta: dict[str, Any]

    def file(self, name: str) -> Path:
        return self.path / name


class ArtifactCache:
    """Folder of stage outputs keyed by config hash (see module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @staticmethod
    def make_key(
        stage: str,
        config: Mapping[str, Any],
        deps: Iterable[Artifact] = (),
        code: str = "",
    ) -> str:
        payload = {
            "stage": stage,
            "config": dict(config),
            "deps": sorted([d.stage, d.key] for d in deps),
            "code": code,
        }
        return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:20]

    def path_for(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def lookup(self, stage: str, key: str) -> Artifact | None:
        path = self.path_for(stage, key)
        meta_file = path / META
        if not meta_file.is_file():
            return None
        return Artifact(stage, key, path, json.loads(meta_file.read_text()))

    def get_or_compute(
        self,
        stage: str,
        config: Mapping[str, Any],
        compute: Callable[[Path], Mapping[str, Any] | None],
        *,
        deps: Iterable[Artifact] = (),
        code: str = "",
    ) -> Artifact:
        """Return the cached artifact for (stage, config, deps, code), computing it if missing.

        ``compute(tmpdir)`` writes the artifact's files into ``tmpdir`` and may return extra metadata
        (e.g. training metrics) that is stored in ``meta.json`` beside the config.
        """
        deps = tuple(deps)
        key = self.make_key(stage, config, deps, code)
        found = self.lookup(stage, key)
        if found is not None:
            return found
        final = self.path_for(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=final.parent))
        try:
            t0 = time.perf_counter()
            extra = compute(tmp) or {}
            meta = {
                "stage": stage,
                "key": key,
                "config": dict(config),
                "deps": [[d.stage, d.key] for d in deps],
                "code": code,
                "seconds": round(time.perf_counter() - t0, 3),
                **dict(extra),
            }
            (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True, default=_jsonable))
            try:
                os.rename(tmp, final)
            except OSError:
                # Another process finished the same artifact first; theirs is identical by construction.
                if self.lookup(stage, key) is None:
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        found = self.lookup(stage, key)
        assert found is not None
        return found


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write arrays uncompressed (fast to reload); atomicity comes from the enclosing artifact folder."""
    np.savez(path, **arrays)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
