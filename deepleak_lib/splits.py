"""Threat-model splits, drawn from a seed and saved to disk.

Partition of the dataset pool (all parts disjoint, each class-balanced to within one sample):

* ``target_members``     – the target model's training set (the members the attack must find);
* ``target_nonmembers``  – same size, never seen by the target (the non-members);
* ``shadow_pool``        – the adversary's auxiliary data; each shadow model trains on a random half
  (``shadow_keep``) and the other half are its non-members, as in Shokri et al. (S&P 2017);
* reference models (LiRA, Carlini et al., S&P 2022) each train on a random half of the *candidate*
  set ``target_members + target_nonmembers`` (``reference_keep``); the halves are balanced so every
  candidate is IN for exactly half of the reference models (Carlini et al.'s construction).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import DeepLeakError


@dataclass(frozen=True)
class SplitConfig:
    """Sizes of the threat-model parts; ``n_members`` members and as many non-members."""

    n_members: int
    n_shadow_members: int
    n_shadow_models: int
    n_reference_models: int
    seed: int

    def validate(self, n_available: int | None = None) -> None:
        for name in ("n_members", "n_shadow_members", "n_shadow_models"):
            if getattr(self, name) < 1:
                raise DeepLeakError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_reference_models < 0:
            raise DeepLeakError(f"n_reference_models must be >= 0, got {self.n_reference_models}")
        if self.n_reference_models == 1:
            raise DeepLeakError("n_reference_models must be 0 or >= 2 (each candidate needs IN and OUT models)")
        if self.n_reference_models % 2:
            raise DeepLeakError(
                f"n_reference_models must be even for balanced keep masks, got {self.n_reference_models}"
            )
        if n_available is not None and self.n_needed > n_available:
            raise DeepLeakError(
                f"the splits need {self.n_needed} samples (2 x n_members + 2 x n_shadow_members) but the "
                f"dataset has {n_available}; lower n_members or n_shadow_members"
            )

    @property
    def n_needed(self) -> int:
        return 2 * self.n_members + 2 * self.n_shadow_members


@dataclass(frozen=True)
class Splits:
    """Indices into the dataset pool plus keep masks (True = that model trained on that sample)."""

    target_members: np.ndarray
    target_nonmembers: np.ndarray
    shadow_pool: np.ndarray
    shadow_keep: np.ndarray  # [n_shadow_models, len(shadow_pool)]
    reference_keep: np.ndarray  # [n_reference_models, len(candidates)]

    @property
    def candidates(self) -> np.ndarray:
        """The target's evaluation set: members first, then non-members."""
        return np.concatenate([self.target_members, self.target_nonmembers])

    @property
    def candidate_labels(self) -> np.ndarray:
        return np.r_[np.ones(len(self.target_members), np.int64), np.zeros(len(self.target_nonmembers), np.int64)]

    def train_indices(self, role: str, index: int = 0) -> np.ndarray:
        """Dataset indices a model of ``role`` trains on."""
        if role == "target":
            return self.target_members
        if role == "shadow":
            return self.shadow_pool[self.shadow_keep[index]]
        if role == "reference":
            return self.candidates[self.reference_keep[index]]
        raise DeepLeakError(f"unknown role {role!r}; choose target, shadow or reference")

    def heldout_indices(self, role: str, index: int = 0) -> np.ndarray:
        """Dataset indices the same model never saw (its non-members, used for test accuracy)."""
        if role == "target":
            return self.target_nonmembers
        if role == "shadow":
            return self.shadow_pool[~self.shadow_keep[index]]
        if role == "reference":
            return self.candidates[~self.reference_keep[index]]
        raise DeepLeakError(f"unknown role {role!r}; choose target, shadow or reference")

    def check(self) -> None:
        """Assert the invariants every later stage relies on."""
        parts = [self.target_members, self.target_nonmembers, self.shadow_pool]
        allidx = np.concatenate(parts)
        if len(np.unique(allidx)) != len(allidx):
            raise AssertionError("threat-model splits overlap")
        if len(self.target_members) != len(self.target_nonmembers):
            raise AssertionError("members and non-members differ in size")
        if self.reference_keep.size and not (self.reference_keep.sum(0) * 2 == len(self.reference_keep)).all():
            raise AssertionError("reference keep masks are not balanced per candidate")

    def save(self, path: Path) -> None:
        np.savez(path, **asdict(self))

    @classmethod
    def load(cls, path: Path) -> Splits:
        with np.load(path, allow_pickle=False) as f:
            return cls(**{k: f[k] for k in f.files})


def _round_robin_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random permutation in which classes interleave, so any contiguous chunk is class-balanced."""
    perm = rng.permutation(len(labels))
    rank = np.empty(len(labels), dtype=np.float64)
    for c in np.unique(labels):
        members = perm[labels[perm] == c]
        # rank within class, plus a random class offset so ties between classes break randomly
        rank[members] = np.arange(len(members)) + rng.random()
    return np.argsort(rank, kind="stable")


def _balanced_keep(n_models: int, n: int, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keep masks: with one model an exact class-balanced half; with several, every sample IN for half."""
    if n_models == 1:
        order = _round_robin_order(labels, rng)
        keep = np.zeros((1, n), dtype=bool)
        keep[0, order[: n // 2]] = True
        return keep
    # Carlini et al. (2022): per sample, a random half of the models keep it.
    ranks = rng.random((n_models, n)).argsort(axis=0)
    return ranks < n_models // 2


def make_splits(labels: np.ndarray, cfg: SplitConfig) -> Splits:
    """Draw the threat-model splits from ``cfg.seed`` (see module docstring)."""
    cfg.validate(len(labels))
    rng = np.random.default_rng(cfg.seed)
    order = _round_robin_order(np.asarray(labels), rng)
    m, s = cfg.n_members, cfg.n_shadow_members
    # Sorted indices make the saved arrays easy to read; keep masks are drawn against this order.
    members, nonmembers = np.sort(order[:m]), np.sort(order[m : 2 * m])
    shadow = np.sort(order[2 * m : 2 * m + 2 * s])
    shadow_keep = _balanced_keep(cfg.n_shadow_models, len(shadow), labels[shadow], rng)
    cand = np.concatenate([members, nonmembers])
    if cfg.n_reference_models:
        ref_keep = _balanced_keep(cfg.n_reference_models, len(cand), labels[cand], rng)
    else:
        ref_keep = np.zeros((0, len(cand)), dtype=bool)
    splits = Splits(members, nonmembers, shadow, shadow_keep, ref_keep)
    splits.check()
    return splits
