"""Membership-inference attacks on explanations: one interface, fitted on attacker-side data only.

See ``base`` for the interface and input types, ``registry.ATTACKS`` for every attack by name.
"""

from __future__ import annotations

from .base import FEATURE_KINDS, Attack, ReferenceSet, ShadowSet, TargetQuery
from .lira import LiRAAttack, fit_lira_gaussians, lira, lira_leave_one_out, lira_scores
from .multisignal import CalibratedMultiSignal, MultiSignalLiRA, fit_joint_lira, joint_lira, joint_lira_scores
from .registry import ATTACKS, PREDICTION_SIGNALS, AttackSpec, build_attack, get_attack
from .shadow_cnn import DeepLeakCNN, DeepLeakCNNConfig, DeepLeakCNNPred, standardize_maps
from .signals import (
    MAP_STATISTICS,
    logit_confidence,
    logit_confidence_from_logits,
    loss_from_probs,
    map_statistic,
    map_statistics,
)
from .threshold import LossThresholdAttack, OracleThreshold, ThresholdAttack, oracle_threshold

__all__ = [
    "ATTACKS",
    "FEATURE_KINDS",
    "MAP_STATISTICS",
    "PREDICTION_SIGNALS",
    "Attack",
    "AttackSpec",
    "CalibratedMultiSignal",
    "DeepLeakCNN",
    "DeepLeakCNNConfig",
    "DeepLeakCNNPred",
    "LiRAAttack",
    "LossThresholdAttack",
    "MultiSignalLiRA",
    "OracleThreshold",
    "ReferenceSet",
    "ShadowSet",
    "TargetQuery",
    "ThresholdAttack",
    "build_attack",
    "fit_joint_lira",
    "fit_lira_gaussians",
    "get_attack",
    "joint_lira",
    "joint_lira_scores",
    "lira",
    "lira_leave_one_out",
    "lira_scores",
    "logit_confidence",
    "logit_confidence_from_logits",
    "loss_from_probs",
    "map_statistic",
    "map_statistics",
    "oracle_threshold",
    "standardize_maps",
]
