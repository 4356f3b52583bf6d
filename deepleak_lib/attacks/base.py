"""Typed inputs and the one interface every membership-inference attack implements.

The threat model is that of Shokri et al., "Membership Inference Attacks Against Machine Learning
Models" (IEEE S&P 2017): the attacker fits on data it controls (shadow models whose membership it
knows, or reference models with known keep masks, Carlini et al. 2022) and then scores the target's
samples. The types enforce that split: ``fit`` takes a ``ShadowSet`` or ``ReferenceSet`` and
``score`` takes a ``TargetQuery``, which has no label field, so evaluation labels cannot reach an
attack. The only labelled-on-evaluation baseline is ``threshold.oracle_threshold`` (tagged oracle).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from ..errors import DeepLeakError

FeatureKind = Literal["maps", "predictions", "stats", "loss", "reference_stats"]
# What an attack may need from the pipeline: raw attribution maps (N, C, H, W), prediction vectors
# f(x) (N, K), per-sample scalar statistics of maps (N,), per-sample loss/confidence (N,), or
# statistics from a pool of reference models with their keep masks ([M, N] or [M, N, S]).
FEATURE_KINDS: tuple[FeatureKind, ...] = ("maps", "predictions", "stats", "loss", "reference_stats")


def _finite(name: str, a: np.ndarray) -> None:
    if not np.isfinite(a).all():
        n_bad = int((~np.isfinite(a)).sum())
        raise DeepLeakError(f"{name} has {n_bad} NaN or infinite values; clean or drop those samples first")


def _labels01(name: str, labels: object, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise DeepLeakError(f"{name} must have shape ({n},) to match the features, got {y.shape}")
    if y.dtype != bool and not np.isin(y, (0, 1)).all():
        raise DeepLeakError(f"{name} must be 0 (non-member) or 1 (member), found {np.unique(y)[:5].tolist()}")
    return y.astype(np.int8)


def _predictions(predictions: object, n: int) -> None:
    if predictions is None:
        return
    p = np.asarray(predictions)
    if p.ndim != 2 or p.shape[0] != n:
        raise DeepLeakError(
            f"predictions must have shape ({n}, n_classes), got {p.shape}; pass f(x) per sample"
        )
    _finite("predictions", p)


@dataclass(frozen=True)
class ShadowSet:
    """Attacker-side labelled data: features of shadow-model samples and their shadow membership.

    ``features``: maps (N, C, H, W), scalar statistics (N,) or per-sample vectors (N, D).
    ``labels``: 1 = the shadow model trained on the sample, 0 = it did not. Never target labels.
    ``predictions``: optional shadow-model prediction vectors f(x), (N, K).
    """

    features: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray | None = None

    def validate(self, *, require_balanced: bool = False, balance_tolerance: float = 0.1) -> None:
        x = np.asarray(self.features)
        if x.ndim < 1 or x.shape[0] == 0:
            raise DeepLeakError(
                f"shadow features are empty (shape {x.shape}); compute them on the shadow model first"
            )
        _finite("shadow features", x)
        y = _labels01("shadow labels", self.labels, x.shape[0])
        n_in = int(y.sum())
        if n_in == 0 or n_in == y.shape[0]:
            raise DeepLeakError(
                f"shadow set has {n_in} members of {y.shape[0]}; it needs both shadow members and non-members"
            )
        if require_balanced and abs(n_in / y.shape[0] - 0.5) > balance_tolerance:
            raise DeepLeakError(
                f"shadow set is unbalanced ({n_in} members, {y.shape[0] - n_in} non-members); subsample the "
                f"larger class so members make up 50% +- {balance_tolerance:.0%}"
            )
        _predictions(self.predictions, x.shape[0])


@dataclass(frozen=True)
class TargetQuery:
    """What the attacker observes for the target's samples; deliberately has no membership labels.

    ``features`` has the same layout as the attacker data it is scored against: maps (N, C, H, W) or
    statistics (N,) / (N, S) for shadow attacks; one statistic per pool sample (N,) or (N, S) aligned
    with ``ReferenceSet.stats`` for reference-model attacks. ``predictions``: optional f(x), (N, K).
    """

    features: np.ndarray
    predictions: np.ndarray | None = None

    def validate(self) -> None:
        x = np.asarray(self.features)
        if x.ndim < 1 or x.shape[0] == 0:
            raise DeepLeakError(
                f"target features are empty (shape {x.shape}); compute them on the target first"
            )
        _finite("target features", x)
        _predictions(self.predictions, x.shape[0])


@dataclass(frozen=True)
class ReferenceSet:
    """Statistics of a pool of samples under M reference models, with their keep masks (Carlini et al. 2022).

    ``stats``: [M, N] (one statistic) or [M, N, S] (S statistics); ``keep``: bool [M, N], True when
    reference model m trained on sample n. The attacker trained these models, so ``keep`` is
    attacker knowledge, not an evaluation label.
    """

    stats: np.ndarray
    keep: np.ndarray

    def validate(self, *, min_models: int = 1, n_signals: int | None = None) -> None:
        s = np.asarray(self.stats)
        k = np.asarray(self.keep)
        if s.ndim not in (2, 3):
            raise DeepLeakError(
                f"reference stats must be [n_models, n_samples] or [n_models, n_samples, n_signals], got {s.shape}"
            )
        if s.shape[0] < min_models or s.shape[1] == 0:
            raise DeepLeakError(
                f"reference stats have {s.shape[0]} models and {s.shape[1]} samples; this attack needs at least "
                f"{min_models} reference models and one sample"
            )
        if k.shape != s.shape[:2]:
            raise DeepLeakError(
                f"keep mask shape {k.shape} must equal stats' [n_models, n_samples] = {s.shape[:2]}"
            )
        if k.dtype != bool and not np.isin(k, (0, 1)).all():
            raise DeepLeakError(
                "keep mask must be boolean (True = the reference model trained on the sample)"
            )
        if (
            n_signals is not None
            and (s.ndim != 3 or s.shape[2] != n_signals)
            and not (s.ndim == 2 and n_signals == 1)
        ):
            raise DeepLeakError(f"reference stats {s.shape} must carry {n_signals} signals in the last axis")
        _finite("reference stats", s)


_A = TypeVar("_A", bound="Attack")


class Attack(ABC):
    """A membership-inference attack: fitted on attacker data only, then one score per target sample.

    Scores are "higher = more likely member". ``threshold_`` is a decision threshold on the score
    scale calibrated on attacker data (None when the attack has none); pass it to
    ``metrics.attack_metrics(..., threshold=...)`` for a non-oracle balanced accuracy.
    """

    name: ClassVar[str] = "attack"
    data_type: ClassVar[type] = ShadowSet

    def __init__(self) -> None:
        self.threshold_: float | None = None
        self._fitted = False

    def fit(self: _A, data: ShadowSet | ReferenceSet, *, seed: int) -> _A:
        """Fit on attacker-side data (shadow or reference models); ``seed`` drives every random choice."""
        if not isinstance(data, self.data_type):
            raise DeepLeakError(
                f"attack {self.name!r} fits on a {self.data_type.__name__}, got {type(data).__name__}; "
                "target data is only ever passed to score()"
            )
        self._fit(data, seed=int(seed))
        self._fitted = True
        return self

    def score(self, query: TargetQuery) -> np.ndarray:
        """Membership score per target sample (higher = member); never sees target labels."""
        if not self._fitted:
            raise DeepLeakError(
                f"attack {self.name!r} is not fitted; call fit() on shadow/reference data first"
            )
        if not isinstance(query, TargetQuery):
            raise DeepLeakError(f"score() takes a TargetQuery, got {type(query).__name__}")
        query.validate()
        out = np.asarray(self._score(query), dtype=np.float64)
        if np.isnan(out).any():
            raise DeepLeakError(f"attack {self.name!r} produced NaN scores; check the inputs' scale and eps")
        return out

    @abstractmethod
    def hyperparameters(self) -> dict[str, Any]:
        """Every setting that changes the scores, for the results table."""

    @abstractmethod
    def _fit(self, data: Any, *, seed: int) -> None: ...

    @abstractmethod
    def _score(self, query: TargetQuery) -> np.ndarray: ...
