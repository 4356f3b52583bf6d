"""Threshold attacks on one scalar per sample.

``ThresholdAttack``: Shokri, Strobel and Zick, "On the Privacy Risks of Model Explanations" (AIES
2021) threshold the variance (or L1/L2 norm) of a gradient explanation; here the direction and the
threshold are calibrated on shadow-model statistics only. ``LossThresholdAttack``: Yeom et al.,
"Privacy Risk in Machine Learning" (IEEE CSF 2018), members have lower loss. ``oracle_threshold``
reproduces Shokri et al.'s "optimal" threshold picked on the evaluation labels: an upper bound,
never an attack, and tagged so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from ..errors import DeepLeakError
from ..metrics import best_threshold, check_scores_labels
from .base import Attack, ShadowSet, TargetQuery
from .signals import MAP_STATISTICS, map_statistic

Direction = Literal["auto", 1, -1]


def _scalar_feature(features: np.ndarray, statistic: str | None, who: str) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if statistic is not None:
        return map_statistic(x, statistic)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise DeepLeakError(
            f"{who} needs one scalar per sample (N,), got {x.shape}; set statistic='variance' (or l1, l2, ...) "
            "to reduce maps"
        )
    return x


class ThresholdAttack(Attack):
    """Shokri et al. (AIES 2021) threshold on a scalar explanation statistic, calibrated on shadow data.

    Score = direction * statistic, where direction in {+1, -1} and the threshold maximise balanced
    accuracy on the SHADOW set (ties prefer +1). ``threshold_`` is on the score scale.
    """

    name: ClassVar[str] = "threshold"
    data_type: ClassVar[type] = ShadowSet

    def __init__(self, statistic: str | None = None, direction: Direction = "auto") -> None:
        super().__init__()
        if statistic is not None and statistic not in MAP_STATISTICS:
            raise DeepLeakError(
                f"unknown statistic {statistic!r}; choose one of: {', '.join(sorted(MAP_STATISTICS))}"
            )
        if direction not in ("auto", 1, -1):
            raise DeepLeakError(f"direction must be 'auto', 1 or -1, got {direction!r}")
        self.statistic = statistic
        self.direction = direction
        self.direction_: int | None = None
        self.shadow_balanced_accuracy_: float | None = None

    def hyperparameters(self) -> dict[str, Any]:
        return {"statistic": self.statistic, "direction": self.direction}

    def _fit(self, data: ShadowSet, *, seed: int) -> None:
        del seed  # deterministic: the best threshold on the shadow set is unique up to ties
        data.validate()
        stat = _scalar_feature(data.features, self.statistic, self.name)
        y = np.asarray(data.labels).astype(np.int8)
        candidates = (1, -1) if self.direction == "auto" else (int(self.direction),)
        best: tuple[float, int, float] | None = None
        for d in candidates:
            thr, ba = best_threshold(d * stat, y)
            if best is None or ba > best[0]:
                best = (ba, d, thr)
        assert best is not None
        self.shadow_balanced_accuracy_, self.direction_, self.threshold_ = best

    def _score(self, query: TargetQuery) -> np.ndarray:
        assert self.direction_ is not None
        return self.direction_ * _scalar_feature(query.features, self.statistic, self.name)


class LossThresholdAttack(ThresholdAttack):
    """Yeom et al. (CSF 2018): score = -loss (members fit better); threshold calibrated on shadow losses.

    Features are the per-sample cross-entropy losses (N,), e.g. from ``signals.loss_from_probs``.
    """

    name: ClassVar[str] = "loss_threshold"

    def __init__(self) -> None:
        super().__init__(statistic=None, direction=-1)

    def hyperparameters(self) -> dict[str, Any]:
        return {}  # the direction (-1) is the definition of the attack, not a setting


@dataclass(frozen=True)
class OracleThreshold:
    """Result of ``oracle_threshold``: an UPPER BOUND chosen on evaluation labels, not an attack."""

    scores: np.ndarray
    direction: int
    threshold: float
    balanced_accuracy: float
    oracle: bool = True
    note: str = field(default="upper bound: direction and threshold chosen on the evaluation labels")


def oracle_threshold(stat: object, labels: object) -> OracleThreshold:
    """Shokri et al.'s (AIES 2021) "optimal" threshold, picked on the evaluation members/non-members.

    Returns the signed scores, the direction and threshold maximising balanced accuracy on these very
    labels, and that balanced accuracy. Report it only as an upper bound (``oracle=True``).
    """
    s, y = check_scores_labels(stat, labels)
    best: tuple[float, int, float] | None = None
    for d in (1, -1):
        thr, ba = best_threshold(d * s, y)
        if best is None or ba > best[0]:
            best = (ba, d, thr)
    assert best is not None
    ba, d, thr = best
    return OracleThreshold(scores=d * s, direction=d, threshold=thr, balanced_accuracy=ba)
