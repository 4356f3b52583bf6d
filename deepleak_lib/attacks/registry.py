"""The attack registry: every attack by name, with what it needs and every hyperparameter explicit.

``needs`` lists feature kinds from ``base.FEATURE_KINDS`` ("maps", "predictions", "stats", "loss",
"reference_stats"); ``signals`` names the per-sample statistics the pipeline must compute, from
``signals.MAP_STATISTICS`` or ``PREDICTION_SIGNALS``, in the column order the attack expects.
The labelled upper bound ``threshold.oracle_threshold`` is deliberately not an entry: it is not an
attack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

from ..errors import DeepLeakError, unknown_name
from .base import Attack, FeatureKind
from .lira import LiRAAttack
from .multisignal import CalibratedMultiSignal, MultiSignalLiRA
from .shadow_cnn import DeepLeakCNN, DeepLeakCNNConfig, DeepLeakCNNPred
from .threshold import LossThresholdAttack, ThresholdAttack

__all__ = ["ATTACKS", "AttackSpec", "PREDICTION_SIGNALS", "build_attack", "get_attack"]

# Per-sample signals computed from the prediction vector (signals.loss_from_probs / logit_confidence).
PREDICTION_SIGNALS: tuple[str, ...] = ("loss", "logit_confidence")

_DEEPLEAK = "DeepLeak, IEEE SaTML 2026 (arXiv 2601.03429)"
_SHOKRI = "Shokri, Strobel, Zick, On the Privacy Risks of Model Explanations, AIES 2021"
_YEOM = "Yeom, Giacomelli, Fredrikson, Jha, Privacy Risk in Machine Learning, IEEE CSF 2018"
_CARLINI = "Carlini et al., Membership Inference Attacks From First Principles, IEEE S&P 2022"
_HUANG = "Huang et al. 2024 (VAR-LRT, L1/L2-LRT: LiRA on attribution statistics)"
_MULTI = ("logit_confidence", "variance", "l1", "l2", "entropy", "gini")


@dataclass(frozen=True)
class AttackSpec:
    """A registry entry; ``build(**overrides)`` makes a fresh, unfitted attack."""

    name: str
    description: str
    citation: str
    needs: tuple[FeatureKind, ...]
    signals: tuple[str, ...]
    factory: Callable[..., Attack]
    hyperparameters: Mapping[str, Any]

    def build(self, **overrides: Any) -> Attack:
        unknown = sorted(set(overrides) - set(self.hyperparameters))
        if unknown:
            raise DeepLeakError(
                f"attack {self.name!r} has no hyperparameters {unknown}; choose from: "
                f"{', '.join(sorted(self.hyperparameters))}"
            )
        return self.factory(**{**self.hyperparameters, **overrides})


def _spec(
    name: str,
    description: str,
    citation: str,
    needs: tuple[FeatureKind, ...],
    signals: tuple[str, ...],
    factory: Callable[..., Attack],
    hyperparameters: dict[str, Any],
) -> AttackSpec:
    return AttackSpec(name, description, citation, needs, signals, factory, MappingProxyType(hyperparameters))


_CNN = {**asdict(DeepLeakCNNConfig()), "device": "cpu"}
_LIRA = {"online": True, "fix_variance": False, "eps": 1e-8, "direction": "auto"}

ATTACKS: dict[str, AttackSpec] = {
    s.name: s
    for s in (
        _spec(
            "deepleak_cnn",
            "Binary CNN on raw shadow attribution maps (MobileNetV2 trunk for 32x32, small CNN otherwise); "
            "set epochs=15 for perturbation explainers as released",
            _DEEPLEAK,
            ("maps",),
            (),
            DeepLeakCNN,
            {**_CNN, "use_predictions": False},
        ),
        _spec(
            "deepleak_cnn_pred",
            "DeepLeak CNN with the prediction vector f(x) concatenated to the pooled map features",
            _DEEPLEAK,
            ("maps", "predictions"),
            (),
            DeepLeakCNNPred,
            {**_CNN, "use_predictions": True},
        ),
        *(
            _spec(
                f"shokri_threshold_{stat}",
                f"Threshold on the {stat} of the attribution map; direction and threshold from shadow data",
                _SHOKRI,
                ("maps",),
                (stat,),
                ThresholdAttack,
                {"statistic": stat, "direction": "auto"},
            )
            for stat in ("variance", "l1", "l2")
        ),
        _spec(
            "loss_threshold",
            "Score = -loss; threshold calibrated on shadow losses (what predictions alone leak)",
            _YEOM,
            ("loss",),
            ("loss",),
            LossThresholdAttack,
            {},
        ),
        *(
            _spec(
                f"lira_{stat}",
                f"Per-sample Gaussian likelihood-ratio test on the map {stat} under reference models",
                f"{_HUANG}; {_CARLINI}",
                ("reference_stats",),
                (stat,),
                LiRAAttack,
                {"signal": stat, **_LIRA},
            )
            for stat in ("variance", "l1", "l2")
        ),
        _spec(
            "lira_confidence",
            "LiRA on the logit-scaled confidence log(p_y / (1 - p_y)) (what predictions alone leak)",
            _CARLINI,
            ("reference_stats",),
            ("logit_confidence",),
            LiRAAttack,
            {"signal": "logit_confidence", **_LIRA},
        ),
        _spec(
            "multisignal_lira",
            "Joint LiRA over confidence and map statistics: sum of per-statistic log-LRs (naive Bayes)",
            f"{_CARLINI}; {_HUANG}",
            ("reference_stats",),
            _MULTI,
            MultiSignalLiRA,
            {"signals": _MULTI, "method": "naive_bayes", "online": True, "fix_variance": False, "eps": 1e-8},
        ),
        _spec(
            "multisignal_lira_mvn",
            "Joint LiRA with a multivariate Gaussian per sample (pooled correlation across samples)",
            f"{_CARLINI}; {_HUANG}",
            ("reference_stats",),
            _MULTI,
            MultiSignalLiRA,
            {"signals": _MULTI, "method": "mvn", "online": True, "fix_variance": False, "eps": 1e-8},
        ),
        _spec(
            "multisignal_calibrated",
            "Logistic regression over per-statistic LiRA scores, trained leave-one-out on reference models",
            f"{_CARLINI}; {_HUANG}",
            ("reference_stats",),
            _MULTI,
            CalibratedMultiSignal,
            {
                "signals": _MULTI,
                "classifier": "logistic",
                "online": True,
                "fix_variance": False,
                "eps": 1e-8,
                "n_pseudo_targets": None,
                "c": 1.0,
            },
        ),
    )
}


def get_attack(name: str) -> AttackSpec:
    """Registry lookup; an unknown name raises a DeepLeakError listing the choices."""
    if name not in ATTACKS:
        raise unknown_name("attack", name, ATTACKS)
    return ATTACKS[name]


def build_attack(name: str, **overrides: Any) -> Attack:
    """A fresh, unfitted attack from the registry with optional hyperparameter overrides."""
    return get_attack(name).build(**overrides)
