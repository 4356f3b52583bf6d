"""Summaries for chapter 02: seed averages, ROC curves per family, the headline comparison."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .metrics import roc_curve, summarize_over_seeds
from .profiling import METRIC_COLS, negative_control, relative_increase, scores_of
from .study import Study

GROUP = ["dataset", "model", "explainer", "family", "attack", "oracle"]


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of every metric, one row per (explainer, attack)."""
    return summarize_over_seeds(table, GROUP, list(METRIC_COLS))


def roc_by_family(study: Study, table: pd.DataFrame, attack: str, seed: int) -> dict:
    """{family: {explainer: (fpr, tpr)}} for one attack and seed."""
    rows = table[(table.attack == attack) & (table.seed == seed)]
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for _, r in rows.iterrows():
        d = scores_of(study, r.artifact)
        fpr, tpr, _ = roc_curve(d["scores"], d["member"])
        out.setdefault(r.family, {})[r.explainer] = (fpr, tpr)
    return out


def headline(study: Study, table: pd.DataFrame, attacks: Sequence[str], baseline: str, seed: int,
             n_boot: int = 200) -> pd.DataFrame:
    """Relative increase of each attack over ``baseline`` on the same maps, per explainer, with CIs.

    Paired stratified bootstrap over the explained samples of one seed (see
    ``profiling.relative_increase``); NaN where the baseline's metric is 0.
    """
    rows = []
    t = table[(table.seed == seed) & ~table.oracle]
    for explainer, g in t.groupby("explainer"):
        base = g[g.attack == baseline]
        if base.empty:
            continue
        b = scores_of(study, base.artifact.iloc[0])
        for a in attacks:
            cur = g[g.attack == a]
            if cur.empty:
                continue
            s = scores_of(study, cur.artifact.iloc[0])
            if not np.array_equal(s["indices"], b["indices"]):
                raise AssertionError("attacks were evaluated on different samples")
            for metric in ("auc", "tpr_at_fpr_0.01"):
                r = relative_increase(s["scores"], b["scores"], b["member"], metric, n_boot=n_boot, seed=seed)
                rows.append({"explainer": explainer, "family": g.family.iloc[0], "attack": a,
                             "baseline": baseline, "metric": metric, "relative_increase": r["value"],
                             "lo": r["lo"], "hi": r["hi"]})
    return pd.DataFrame(rows)


def negative_controls(study: Study, table: pd.DataFrame, attacks: Sequence[str], seed: int,
                      n_boot: int = 200) -> pd.DataFrame:
    """Negative control per (explainer, attack): AUC on non-members split at random (should be ~0.5)."""
    rows = []
    t = table[(table.seed == seed) & ~table.oracle & table.attack.isin(attacks)]
    for _, r in t.iterrows():
        art = study.cache.lookup("attack", r.artifact)
        rows.append({"explainer": r.explainer, "attack": r.attack,
                     **negative_control(study, art, n_boot=n_boot, seed=seed)})
    out = pd.DataFrame(rows)
    if len(out):
        out["covers_0.5"] = (out.auc_lo <= 0.5) & (out.auc_hi >= 0.5)
    return out


def stage_times(study: Study, table: pd.DataFrame, ecfgs: Sequence, n_per_group: int,
                n_shadow_per_group: int) -> pd.DataFrame:
    """Compute time per stage, read from the artifacts' metadata (the time it took when computed).

    Rows: one per explainer for the explanations of every model, one per attack for its fits.
    """
    from .attributions import attributions_artifact

    roles = study.roles()
    rows = []
    for c in ecfgs:
        secs = [attributions_artifact(study, r, i, c, n_shadow_per_group if r == "shadow" else n_per_group)
                .meta["explain_seconds"] for r, i in roles]
        rows.append({"stage": "explain", "name": c.method, "runs": len(secs), "seconds": float(sum(secs))})
    for attack, g in table[~table.oracle].groupby("attack"):
        secs = [study.cache.lookup("attack", k).meta["seconds"] for k in g.artifact]
        rows.append({"stage": "attack", "name": attack, "runs": len(secs), "seconds": float(sum(secs))})
    return pd.DataFrame(rows)
