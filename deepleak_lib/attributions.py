"""Attribution maps and their per-sample signals as cached artifacts.

One artifact per (model, sample set, explainer, resolved settings, target policy, seed): the maps
(float32 npz), the explained classes, the membership label of every sample *for that model*, the
per-sample signals of ``signals.py`` and the measured throughput. Every later attack, hardening and
analysis reads these instead of recomputing explanations.

Sample sets (``explain_indices``): the target and every reference model explain the same
class-balanced subset of the target's candidates (so likelihood-ratio attacks compare like with
like); a shadow model explains a subset of its own members and non-members from the shadow pool.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import explainers as explainers_pkg
from . import signals as signals_mod
from .cache import Artifact, code_fingerprint, load_npz, package_modules, save_npz
from .errors import DeepLeakError
from .explainers import (
    EXPLAINERS,
    TARGET_POLICIES,
    explain,
    get_explainer_spec,
    resolve_settings,
    select_targets,
)
from .seeding import derive_seed
from .signals import compute_signals
from .study import Study

_CODE = code_fingerprint([*package_modules(explainers_pkg), signals_mod, sys.modules[__name__]])


@dataclass(frozen=True)
class ExplainConfig:
    """How the study runs one explainer: overrides of the registry defaults, target policy, seed."""

    method: str
    overrides: dict[str, Any] = field(default_factory=dict)
    target_policy: str | None = None  # None: the registry's policy for the method (recorded resolved)
    seed: int = 0
    batch_size: int = 256

    def validate(self) -> None:
        get_explainer_spec(self.method)
        resolve_settings(self.method, **self.overrides)
        if self.target_policy is not None and self.target_policy not in TARGET_POLICIES:
            raise DeepLeakError(
                f"unknown target policy {self.target_policy!r}; choose one of: {', '.join(TARGET_POLICIES)}"
            )
        if self.batch_size < 1:
            raise DeepLeakError(f"batch_size must be >= 1, got {self.batch_size}")

    @property
    def settings(self) -> dict[str, Any]:
        return resolve_settings(self.method, **self.overrides)

    @property
    def policy(self) -> str:
        return self.target_policy or EXPLAINERS[self.method].target_policy

    @property
    def family(self) -> str:
        return EXPLAINERS[self.method].family


def explain_configs(methods: list[str], overrides: dict[str, dict[str, Any]], seed: int,
                    batch_size: int = 256, target_policy: str | None = None) -> list[ExplainConfig]:
    """Validated configs for a profile's method list and its per-method overrides."""
    unknown = sorted(set(overrides) - set(methods))
    if unknown:
        raise DeepLeakError(f"settings given for {', '.join(unknown)}, which is not in the methods list; "
                            "add it to methods or remove its settings")
    cfgs = [ExplainConfig(m, dict(overrides.get(m, {})), target_policy, seed, batch_size) for m in methods]
    for c in cfgs:
        c.validate()
    return cfgs


def explain_indices(study: Study, role: str, index: int, n_per_group: int,
                    null_control: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Dataset indices a model explains and their membership labels for that model (1 = trained on it).

    ``null_control``: a shadow model explains the *target's* candidate subset, labelled with the
    target's membership. The shadow model never saw any candidate, so an attack scoring these maps
    must reach AUC 0.5: anything else betrays a pipeline asymmetry between the member and non-member
    groups (preprocessing, selection, label leakage), not membership.
    """
    if n_per_group < 1:
        raise DeepLeakError(f"n_per_group must be >= 1, got {n_per_group}")
    sp = study.splits
    if null_control and role != "shadow":
        raise DeepLeakError("the null control explains the target's candidates with a shadow model only")
    if role in ("target", "reference") or null_control:
        pools = (sp.target_members, sp.target_nonmembers)
        key = ("candidates",)
    elif role == "shadow":
        pools = (sp.train_indices("shadow", index), sp.heldout_indices("shadow", index))
        key = ("shadow", index)
    else:
        raise DeepLeakError(f"unknown role {role!r}; choose target, shadow or reference")
    if n_per_group > min(len(p) for p in pools):
        raise DeepLeakError(f"n_per_group={n_per_group} exceeds the {min(len(p) for p in pools)} samples per "
                            "group available; lower n_per_group")
    rng = np.random.default_rng(derive_seed(study.cfg.seed, "explain", *key))
    y = study.dataset.y
    chosen = [_balanced_subset(p, y[p], n_per_group, rng) for p in pools]
    idx = np.concatenate(chosen)
    if role == "reference" and not null_control:
        keep = sp.reference_keep[index]
        member = np.isin(idx, sp.candidates[keep]).astype(np.int64)
    else:
        member = np.r_[np.ones(n_per_group, np.int64), np.zeros(n_per_group, np.int64)]
    return idx, member


def _balanced_subset(pool: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of ``pool`` with classes as balanced as possible (round-robin over a shuffled pool)."""
    perm = rng.permutation(len(pool))
    rank = np.empty(len(pool))
    for c in np.unique(labels):
        where = perm[labels[perm] == c]
        rank[where] = np.arange(len(where))
    order = np.lexsort((perm.argsort(), rank))
    return np.sort(pool[order[:n]])


def reference_inputs(study: Study, n: int = 200) -> np.ndarray:
    """ProtoDash's prototype pool: a fixed seeded sample of the adversary's auxiliary (shadow) data."""
    rng = np.random.default_rng(derive_seed(study.cfg.seed, "protodash-pool"))
    pool = study.splits.shadow_pool
    return study.query(np.sort(rng.choice(pool, size=min(n, len(pool)), replace=False)))


def attributions_artifact(study: Study, role: str, index: int, ecfg: ExplainConfig, n_per_group: int,
                          *, progress: bool = False, null_control: bool = False) -> Artifact:
    """Explain ``n_per_group`` members and non-members of one model with one explainer (cached).

    ``null_control``: see ``explain_indices`` (a shadow model on the target's candidates).
    """
    ecfg.validate()
    model_art = study.model_artifact(role, index, progress=progress)
    settings = ecfg.settings
    config = {"role": role, "index": index, "n_per_group": n_per_group, "method": ecfg.method,
              "settings": settings, "target_policy": ecfg.policy, "seed": ecfg.seed,
              "device": study.cfg.device, "protodash_pool": 200 if ecfg.method == "protodash" else 0,
              "null_control": null_control}

    def compute(tmp: Path) -> dict[str, Any]:
        idx, member = explain_indices(study, role, index, n_per_group, null_control)
        model = study.load_model(role, index)
        x = study.query(idx)
        targets = select_targets(model, x, study.dataset.y[idx], ecfg.policy, device=study.cfg.device)
        ref = reference_inputs(study) if ecfg.method == "protodash" else None
        t0 = time.perf_counter()
        maps = explain(model, x, targets, ecfg.method, seed=ecfg.seed, batch_size=ecfg.batch_size,
                       device=study.cfg.device, progress=progress, reference_inputs=ref, **settings)
        seconds = time.perf_counter() - t0
        save_npz(tmp / "maps.npz", indices=idx, member=member, targets=targets, maps=maps)
        save_npz(tmp / "signals.npz", **compute_signals(maps))
        return {"explain_seconds": seconds, "samples_per_s": len(idx) / max(seconds, 1e-9),
                "family": ecfg.family}

    return study.cache.get_or_compute("attributions", config, compute, deps=[model_art], code=_CODE)


def load_maps(art: Artifact) -> dict[str, np.ndarray]:
    """indices, member, targets, maps (N x C x H x W)."""
    return load_npz(art.file("maps.npz"))


def load_signals(art: Artifact) -> pd.DataFrame:
    """One row per explained sample: dataset index, membership, then every per-sample signal."""
    d = load_npz(art.file("maps.npz"))
    sig = load_npz(art.file("signals.npz"))
    return pd.DataFrame({"index": d["indices"], "member": d["member"], **sig})
