"""Tables for chapter 01: what each explainer costs and how its signals differ by membership."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .attributions import ExplainConfig, attributions_artifact, load_maps, load_signals
from .cache import Artifact
from .explainers import passes_per_sample
from .metrics import auc
from .signals import SIGNAL_NAMES
from .study import Study


def explain_target(study: Study, cfgs: Sequence[ExplainConfig], n_per_group: int,
                   progress: bool = True) -> dict[str, Artifact]:
    """Attribution artifacts of the target model for every configured explainer (cached)."""
    return {c.method: attributions_artifact(study, "target", 0, c, n_per_group, progress=progress) for c in cfgs}


def _compact(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "—"


def cost_table(study: Study, cfgs: Sequence[ExplainConfig], arts: dict[str, Artifact]) -> pd.DataFrame:
    """Family, method, settings, model passes per sample and measured throughput, one row per method."""
    rows = []
    for c in cfgs:
        meta = arts[c.method].meta
        p = passes_per_sample(c.method, study.dataset.shape, **c.overrides)
        rows.append({
            "family": c.family, "method": c.method, "target": c.policy, "settings": _compact(c.settings),
            "forward passes": p.forward, "backward passes": p.backward,
            "samples/s": meta["samples_per_s"], "seconds": meta["explain_seconds"],
        })
    return pd.DataFrame(rows)


def gallery(arts: dict[str, Artifact], n_each: int = 2) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """``n_each`` members and non-members explained by every method (the same images for all), spread
    evenly through the explained set so that different classes appear."""
    from .plots import spread

    first = load_maps(next(iter(arts.values())))
    member = first["member"]
    pick = np.r_[spread(np.flatnonzero(member == 1), n_each), spread(np.flatnonzero(member == 0), n_each)]
    indices = first["indices"][pick]
    maps = {}
    for method, art in arts.items():
        d = load_maps(art)
        if not np.array_equal(d["indices"][pick], indices):
            raise AssertionError("explainers were run on different samples")
        maps[method] = d["maps"][pick]
    labels = ["member"] * n_each + ["non-member"] * n_each
    return indices, labels, maps


def signals_long(arts: dict[str, Artifact], families: dict[str, str]) -> pd.DataFrame:
    """Long table: method, family, member, signal, value (one row per sample and signal)."""
    frames = []
    for method, art in arts.items():
        df = load_signals(art).melt(id_vars=["index", "member"], value_vars=list(SIGNAL_NAMES),
                                    var_name="signal", value_name="value")
        df.insert(0, "family", families[method])
        df.insert(0, "method", method)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def signal_separation(long: pd.DataFrame) -> pd.DataFrame:
    """AUC of each raw signal for members vs non-members, per method (0.5 = no separation).

    A descriptive first look, not an attack: no threshold is chosen and the direction is not fitted
    (AUC below 0.5 means members have *smaller* values).
    """
    rows = []
    for (method, family, signal), g in long.groupby(["method", "family", "signal"], sort=False):
        vals = g["value"].to_numpy()
        if np.ptp(vals) == 0:
            a = 0.5
        else:
            a = auc(vals, g["member"].to_numpy())
        rows.append({"method": method, "family": family, "signal": signal, "auc": a})
    out = pd.DataFrame(rows)
    out["separation"] = (out["auc"] - 0.5).abs()
    return out
