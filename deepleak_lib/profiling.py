"""Leakage profiling (chapter 02): every attack on every explainer's maps, one tidy results table.

For one explainer the pipeline gathers, from cached artifacts:

* the target's maps of a class-balanced subset of its members and non-members (what is attacked);
* each shadow model's maps of its own members and non-members (what shadow attacks fit on);
* each reference model's maps of the *same* candidate subset as the target, with keep masks
  (what likelihood-ratio attacks fit on);
* every model's logits on those samples (loss / logit-confidence signals and f(x)).

Attacks are fitted only on shadow/reference data (the ``attacks`` types enforce it); target labels
enter only the metrics. Each (explainer, attack, seed) result is itself an artifact: its scores and
metrics are cached, so the table is rebuilt instantly when nothing changed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import attacks as attacks_pkg
from . import metrics as metrics_mod
from .attacks import (
    ATTACKS,
    ReferenceSet,
    ShadowSet,
    TargetQuery,
    build_attack,
    get_attack,
    logit_confidence_from_logits,
    loss_from_probs,
    oracle_threshold,
)
from .attributions import ExplainConfig, attributions_artifact, explain_indices, load_maps, load_signals
from .cache import Artifact, code_fingerprint, load_npz, package_modules, save_npz
from .errors import DeepLeakError
from .explainers import get_explainer_spec
from .metrics import attack_metrics, auc, bootstrap_ci, tpr_at_fpr
from .seeding import derive_seed
from .study import Study

PREDICTION_ONLY = "none (prediction only)"
METRIC_COLS = ("auc", "balanced_accuracy", "advantage", "tpr_at_fpr_0.001", "tpr_at_fpr_0.01")


_CODE = code_fingerprint([*package_modules(attacks_pkg), metrics_mod, sys.modules[__name__]])


@dataclass(frozen=True)
class ProfilingConfig:
    """Which attacks run, on how many samples, with which seeds (chapter 02 parameters)."""

    attacks: tuple[str, ...]
    seeds: tuple[int, ...]
    n_per_group: int
    n_boot: int = 200
    attack_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    perturbation_epochs: int = 15  # the release trained the CNN 15 epochs on perturbation maps
    # Shadow members (and non-members) explained per shadow model: the attack's training set. None
    # means n_per_group. Larger is cheap for gradient methods and strengthens the DeepLeak CNN.
    n_shadow_per_group: int | None = None

    @property
    def shadow_per_group(self) -> int:
        return self.n_per_group if self.n_shadow_per_group is None else self.n_shadow_per_group

    def validate(self) -> None:
        for a in self.attacks:
            get_attack(a)
        unknown = sorted(set(self.attack_overrides) - set(self.attacks))
        if unknown:
            raise DeepLeakError(f"attack_overrides given for {', '.join(unknown)}, which is not in attacks")
        for a, ov in self.attack_overrides.items():
            ATTACKS[a].build(**ov)  # validates the override keys
        if not self.seeds:
            raise DeepLeakError("seeds must list at least one seed")
        if self.n_per_group < 2:
            raise DeepLeakError(f"n_per_group must be >= 2, got {self.n_per_group}")
        if self.shadow_per_group < 2:
            raise DeepLeakError(f"n_shadow_per_group must be >= 2, got {self.n_shadow_per_group}")
        if self.n_boot < 10:
            raise DeepLeakError(f"n_boot must be >= 10 for a confidence interval, got {self.n_boot}")


@dataclass
class ModelView:
    """One model's explained samples: dataset indices, membership for that model, maps, signals, logits."""

    indices: np.ndarray
    member: np.ndarray
    labels: np.ndarray
    logits: np.ndarray
    maps: np.ndarray | None = None
    signals: pd.DataFrame | None = None

    @property
    def probs(self) -> np.ndarray:
        z = self.logits - self.logits.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)

    def stat(self, name: str) -> np.ndarray:
        """A per-sample statistic: a prediction signal (loss, logit_confidence) or a map signal."""
        if name == "loss":
            return loss_from_probs(self.probs, self.labels)
        if name == "logit_confidence":
            return logit_confidence_from_logits(self.logits, self.labels)
        if self.signals is None or name not in self.signals:
            raise DeepLeakError(f"statistic {name!r} is not available for this model view")
        return self.signals[name].to_numpy(np.float64)


def _view(study: Study, role: str, index: int, art: Artifact | None, n_per_group: int,
          null_control: bool = False) -> ModelView:
    if art is None:
        idx, member = explain_indices(study, role, index, n_per_group, null_control)
        maps, sig = None, None
    else:
        d = load_maps(art)
        idx, member, maps, sig = d["indices"], d["member"], d["maps"], load_signals(art)
    return ModelView(idx, member, study.dataset.y[idx], study.logits(role, index, idx), maps, sig)


@dataclass
class Views:
    """Target, shadow and reference views of one explainer (or of predictions only)."""

    target: ModelView
    shadows: list[ModelView]
    references: list[ModelView]
    deps: list[Artifact]
    null: ModelView  # shadow model 0 on the target's candidates, target labels (negative control)


def gather(study: Study, ecfg: ExplainConfig | None, n_per_group: int, *, need_references: bool = True,
           progress: bool = False, n_shadow_per_group: int | None = None) -> Views:
    """Explain (or load) what every attack needs for one explainer; ``None`` = predictions only."""
    n_shadow = n_per_group if n_shadow_per_group is None else n_shadow_per_group

    def n_for(role: str) -> int:
        return n_shadow if role == "shadow" else n_per_group

    def art(role: str, i: int) -> Artifact | None:
        if ecfg is None:
            return None
        return attributions_artifact(study, role, i, ecfg, n_for(role), progress=progress)

    roles = [("target", 0)] + [("shadow", i) for i in range(study.cfg.n_shadow_models)]
    if need_references:
        roles += [("reference", i) for i in range(study.cfg.n_reference_models)]
    arts = {r: art(*r) for r in roles}
    null_art = None if ecfg is None else attributions_artifact(study, "shadow", 0, ecfg, n_per_group,
                                                               progress=progress, null_control=True)
    deps = [a for a in [*arts.values(), null_art] if a is not None] or [study.model_artifact(r, i) for r, i in roles]
    views = {r: _view(study, r[0], r[1], a, n_for(r[0])) for r, a in arts.items()}
    return Views(
        target=views[("target", 0)],
        shadows=[views[r] for r in roles if r[0] == "shadow"],
        references=[views[r] for r in roles if r[0] == "reference"],
        deps=deps,
        null=_view(study, "shadow", 0, null_art, n_per_group, null_control=True),
    )


def _query(name: str, t: ModelView) -> TargetQuery:
    """What the attacker observes of one queried model: the features ``name`` scores."""
    spec = ATTACKS[name]
    if "reference_stats" in spec.needs:
        tgt = np.stack([t.stat(s) for s in spec.signals], -1)
        return TargetQuery(features=tgt[..., 0] if len(spec.signals) == 1 else tgt)
    if "loss" in spec.needs:
        return TargetQuery(t.stat("loss"))
    return TargetQuery(t.maps, t.probs if "predictions" in spec.needs else None)


def _attack_data(name: str, v: Views) -> tuple[ShadowSet | ReferenceSet, TargetQuery]:
    """Build the attacker-side data and the target query an attack needs (see ``AttackSpec.needs``)."""
    spec = ATTACKS[name]
    if "reference_stats" in spec.needs:
        if len(v.references) < 3:
            raise DeepLeakError(f"attack {name!r} needs at least 3 reference models; raise n_reference_models")
        stats = np.stack([np.stack([r.stat(s) for s in spec.signals], -1) for r in v.references])  # [M, N, S]
        keep = np.stack([r.member.astype(bool) for r in v.references])
        data: ShadowSet | ReferenceSet = ReferenceSet(stats=stats[..., 0] if len(spec.signals) == 1 else stats,
                                                      keep=keep)
        return data, _query(name, v.target)
    sh = v.shadows
    labels = np.concatenate([s.member for s in sh])
    if "loss" in spec.needs:
        return ShadowSet(np.concatenate([s.stat("loss") for s in sh]), labels), _query(name, v.target)
    if v.target.maps is None:
        raise DeepLeakError(f"attack {name!r} needs attribution maps; it cannot run on predictions only")
    preds = "predictions" in spec.needs
    data = ShadowSet(np.concatenate([s.maps for s in sh]), labels,
                     np.concatenate([s.probs for s in sh]) if preds else None)
    return data, _query(name, v.target)


def is_prediction_only(name: str) -> bool:
    """Attacks that use f(x) alone (the explainer adds nothing to them)."""
    spec = ATTACKS[name]
    return set(spec.needs) <= {"loss", "reference_stats"} and set(spec.signals) <= {"loss", "logit_confidence"}


def _overrides(pcfg: ProfilingConfig, name: str, ecfg: ExplainConfig | None, device: str) -> dict[str, Any]:
    ov = dict(pcfg.attack_overrides.get(name, {}))
    hp = ATTACKS[name].hyperparameters
    if "device" in hp:
        ov.setdefault("device", device)
    if "epochs" in hp and ecfg is not None and get_explainer_spec(ecfg.method).family == "perturbation":
        ov.setdefault("epochs", pcfg.perturbation_epochs)
    return ov


def _metrics_with_ci(scores: np.ndarray, y: np.ndarray, threshold: float | None, n_boot: int,
                     seed: int) -> dict[str, Any]:
    m = attack_metrics(scores, y, threshold=threshold)
    for key, fn in (("auc", auc), ("tpr_at_fpr_0.01", lambda s, t: tpr_at_fpr(s, t, 0.01))):
        lo, hi = bootstrap_ci(scores, y, fn, n_boot=n_boot, seed=derive_seed(seed, key))
        m[f"{key}_lo"], m[f"{key}_hi"] = lo, hi
    return m


def run_attack(study: Study, views: Views, name: str, ecfg: ExplainConfig | None, seed: int,
               pcfg: ProfilingConfig) -> Artifact:
    """Fit one attack on attacker data, score the target, store scores and metrics (cached)."""
    overrides = _overrides(pcfg, name, ecfg, study.cfg.device)
    attack = build_attack(name, **overrides)
    config = {"attack": name, "hyperparameters": attack.hyperparameters(), "seed": seed,
              "n_boot": pcfg.n_boot, "explainer": ecfg.method if ecfg else None}

    def compute(tmp: Path) -> dict[str, Any]:
        data, query = _attack_data(name, views)
        attack.fit(data, seed=seed)
        scores = attack.score(query)
        # The same fitted attack on the null control: a model that never saw any candidate.
        null_scores = attack.score(_query(name, views.null))
        y = views.target.member
        if not np.array_equal(views.null.indices, views.target.indices):
            raise AssertionError("the null control must score the target's candidates")
        save_npz(tmp / "scores.npz", indices=views.target.indices, member=y, scores=scores,
                 null_scores=null_scores)
        return {"metrics": _metrics_with_ci(scores, y, attack.threshold_, pcfg.n_boot, seed),
                "threshold": attack.threshold_}

    return study.cache.get_or_compute("attack", config, compute, deps=views.deps, code=_CODE)


def load_scores(art: Artifact) -> dict[str, np.ndarray]:
    return load_npz(art.file("scores.npz"))


def scores_of(study: Study, key: str) -> dict[str, np.ndarray]:
    """Scores of a results-table row (its ``artifact`` column)."""
    art = study.cache.lookup("attack", key)
    if art is None:
        raise DeepLeakError(f"attack artifact {key} is not in the cache; re-run the profiling chapter")
    return load_scores(art)


def _row(study: Study, ecfg: ExplainConfig | None, attack: str, seed: int, metrics: dict[str, Any],
         oracle: bool = False, key: str = "") -> dict[str, Any]:
    return {
        "dataset": study.cfg.dataset, "model": study.cfg.model,
        "explainer": ecfg.method if ecfg else PREDICTION_ONLY,
        "family": ecfg.family if ecfg else "prediction",
        "attack": attack, "oracle": oracle, "seed": seed, **metrics, "artifact": key,
    }


def profile(study: Study, ecfgs: Sequence[ExplainConfig], pcfg: ProfilingConfig, *,
            progress: bool = True) -> pd.DataFrame:
    """The tidy results table: one row per (explainer, attack, seed) plus the labelled oracle rows."""
    pcfg.validate()
    rows: list[dict[str, Any]] = []
    map_attacks = [a for a in pcfg.attacks if not is_prediction_only(a)]
    pred_attacks = [a for a in pcfg.attacks if is_prediction_only(a)]
    needs_refs = any("reference_stats" in ATTACKS[a].needs for a in pcfg.attacks)
    from tqdm.auto import tqdm

    for ecfg in tqdm(list(ecfgs), desc="explainers", disable=not progress):
        views = gather(study, ecfg, pcfg.n_per_group, need_references=needs_refs, progress=False,
                       n_shadow_per_group=pcfg.shadow_per_group)
        for seed in pcfg.seeds:
            for a in map_attacks:
                art = run_attack(study, views, a, ecfg, seed, pcfg)
                rows.append(_row(study, ecfg, a, seed, art.meta["metrics"], key=art.key))
        rows += oracle_rows(study, ecfg, views, pcfg)
    if pred_attacks:
        views = gather(study, None, pcfg.n_per_group, need_references=needs_refs,
                       n_shadow_per_group=pcfg.shadow_per_group)
        for seed in pcfg.seeds:
            for a in pred_attacks:
                art = run_attack(study, views, a, None, seed, pcfg)
                rows.append(_row(study, None, a, seed, art.meta["metrics"], key=art.key))
    return pd.DataFrame(rows)


def oracle_rows(study: Study, ecfg: ExplainConfig, views: Views, pcfg: ProfilingConfig) -> list[dict[str, Any]]:
    """Shokri et al.'s threshold chosen on the evaluation labels: an upper bound, tagged ``oracle``."""
    rows = []
    y = views.target.member
    for stat in ("variance", "l1", "l2"):
        o = oracle_threshold(views.target.stat(stat), y)
        m = _metrics_with_ci(o.scores, y, o.threshold, pcfg.n_boot, 0)
        rows.append(_row(study, ecfg, f"oracle_threshold_{stat}", 0, m, oracle=True))
    return rows


def negative_control(study: Study, scores_art: Artifact, n_boot: int = 200, seed: int = 0) -> dict[str, float]:
    """AUC of the fitted attack on the null control: maps and predictions of the target's candidates
    from a model that trained on none of them (shadow model 0), labelled with the target's membership.

    The attack goes through exactly the member and non-member code paths of the real evaluation, so an
    AUC away from 0.5 (beyond its CI) would reveal an asymmetry of the pipeline, not of the model.
    """
    d = load_scores(scores_art)
    s, y = d["null_scores"], d["member"]
    lo, hi = bootstrap_ci(s, y, auc, n_boot=n_boot, seed=seed)
    return {"auc": auc(s, y), "auc_lo": lo, "auc_hi": hi, "n": int(len(s))}


def relative_increase(scores_a: np.ndarray, scores_b: np.ndarray, labels: np.ndarray, metric: str,
                      n_boot: int = 200, seed: int = 0) -> dict[str, float]:
    """(metric(a) - metric(b)) / metric(b) with a paired stratified bootstrap CI over samples.

    ``metric`` is "auc" or "tpr_at_fpr_0.01". Undefined (NaN) when the baseline metric is 0.
    """
    fn = {"auc": auc, "tpr_at_fpr_0.01": lambda s, y: tpr_at_fpr(s, y, 0.01)}[metric]
    y = np.asarray(labels)

    def rel(a: float, b: float) -> float:
        return (a - b) / b if b > 0 else float("nan")

    point = rel(fn(scores_a, y), fn(scores_b, y))
    rng = np.random.default_rng(derive_seed(seed, "relative", metric))
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    boots = []
    for _ in range(n_boot):
        i = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        boots.append(rel(fn(scores_a[i], y[i]), fn(scores_b[i], y[i])))
    b = np.asarray(boots)
    b = b[np.isfinite(b)]
    lo, hi = (np.quantile(b, [0.025, 0.975]) if len(b) else (np.nan, np.nan))
    return {"value": point, "lo": float(lo), "hi": float(hi)}
