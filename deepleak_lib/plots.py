"""Figures for the book. One style, set once; no titles (captions live in the notebooks' cell metadata)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

ROLE_COLORS = {"target": "#c0392b", "shadow": "#2c7fb8", "reference": "#9e9e9e"}


def use_style() -> None:
    """The book's single plotting style."""
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "axes.spines.top": False,
                         "axes.spines.right": False})


def spread(indices: np.ndarray, n: int) -> np.ndarray:
    """``n`` entries evenly spaced through ``indices`` (the pools are sorted, often by class)."""
    return indices[np.linspace(0, len(indices) - 1, min(n, len(indices))).round().astype(int)]


def image_grid(rows: dict[str, np.ndarray], labels: dict[str, np.ndarray] | None = None) -> Figure:
    """A grid of images, one row per named group (e.g. members, non-members), N x C x H x W in [0, 1]."""
    n_rows = len(rows)
    n_cols = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols, 1.25 * n_rows), squeeze=False)
    for r, (name, imgs) in enumerate(rows.items()):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if c >= len(imgs):
                ax.axis("off")
                continue
            img = imgs[c]
            if img.shape[0] == 1:
                ax.imshow(img[0], cmap="gray_r", vmin=0, vmax=1)
            else:
                ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))
            if labels is not None:
                ax.set_xlabel(str(labels[name][c]), fontsize=8)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def training_curves(history: pd.DataFrame) -> Figure:
    """Train and held-out accuracy per epoch for every model, coloured by role."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for (role, idx), h in history.groupby(["role", "index"], sort=False):
        kw = {"color": ROLE_COLORS.get(role, "k"), "alpha": 1.0 if role == "target" else 0.6,
              "lw": 2.0 if role == "target" else 1.0}
        label = role if idx == 0 else None
        axes[0].plot(h["epoch"], h["train_acc"], label=label, **kw)
        axes[1].plot(h["epoch"], h["heldout_acc"], label=label, **kw)
    axes[0].set_ylabel("accuracy")
    axes[0].set_xlabel("epoch (training set)")
    axes[1].set_xlabel("epoch (held-out non-members)")
    axes[1].legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


FAMILY_ORDER = ("gradient", "cam", "perturbation", "example")


def attribution_gallery(images: np.ndarray, col_labels: list[str], maps: dict[str, np.ndarray],
                        families: dict[str, str]) -> Figure:
    """Rows: the input images, then one row per method grouped by family; columns: samples.

    Maps are summed over channels and shown on a symmetric diverging scale per map, so sign and
    relative magnitude are visible whatever each method's units.
    """
    methods = sorted(maps, key=lambda m: (FAMILY_ORDER.index(families[m]), list(maps).index(m)))
    n_rows, n_cols = len(methods) + 1, len(images)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.25 * n_cols + 1.6, 1.15 * n_rows), squeeze=False)
    for c in range(n_cols):
        img = images[c]
        axes[0, c].imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0),
                          cmap="gray_r" if img.shape[0] == 1 else None, vmin=0, vmax=1)
        axes[0, c].set_xlabel(col_labels[c], fontsize=8)
        axes[0, c].xaxis.set_label_position("top")
        for r, m in enumerate(methods, start=1):
            a = maps[m][c].sum(0)
            v = float(np.abs(a).max()) or 1.0
            axes[r, c].imshow(a, cmap="RdBu_r", vmin=-v, vmax=v)
    axes[0, 0].set_ylabel("input", rotation=0, ha="right", va="center")
    for r, m in enumerate(methods, start=1):
        axes[r, 0].set_ylabel(f"{m}\n({families[m]})", rotation=0, ha="right", va="center", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.tight_layout(pad=0.3)
    return fig


def signal_distributions(long: pd.DataFrame, signal: str) -> Figure:
    """Per method, the distribution of one signal for members vs non-members.

    Values are standardised per method by the non-members' median and IQR so that methods with very
    different scales share one axis.
    """
    d = long[long.signal == signal].copy()
    ref = d[d.member == 0].groupby("method")["value"]
    med, iqr = ref.median(), ref.quantile(0.75) - ref.quantile(0.25)
    d["standardised"] = (d["value"] - d["method"].map(med)) / d["method"].map(iqr).replace(0, 1.0)
    d["group"] = d["member"].map({1: "member", 0: "non-member"})
    order = list(dict.fromkeys(d.sort_values("family", key=lambda s: s.map(FAMILY_ORDER.index))["method"]))
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(order) + 1.2))
    sns.boxplot(data=d, y="method", x="standardised", hue="group", order=order, ax=ax, fliersize=1,
                palette={"member": "#c0392b", "non-member": "#7f8c8d"}, linewidth=0.8)
    ax.set_xlabel(f"{signal}, standardised by non-members (median 0, IQR 1)")
    ax.set_ylabel("")
    ax.set_xlim(*np.nanpercentile(d["standardised"], [1, 99]))
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig



def leakage_bars(summary: pd.DataFrame, metric: str, attack: str) -> Figure:
    """Ranked horizontal bars of one attack's leakage per explainer (mean ± std over seeds), by family."""
    d = summary[summary.attack == attack].sort_values(f"{metric}_mean", ascending=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(d) + 1.0))
    colors = dict(zip(FAMILY_ORDER + ("prediction",), sns.color_palette("Set2", 5), strict=True))
    ax.barh(d["explainer"], d[f"{metric}_mean"], xerr=d[f"{metric}_std"].fillna(0),
            color=[colors.get(f, "grey") for f in d["family"]], error_kw={"lw": 0.8})
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[f]) for f in colors if f in set(d["family"])]
    ax.legend(handles, [f for f in colors if f in set(d["family"])], frameon=False, loc="lower right")
    ax.set_xlabel(f"{metric} of {attack} (mean ± std over seeds)")
    if metric == "auc":
        ax.axvline(0.5, color="k", lw=0.8, ls=":")
        ax.set_xlim(left=min(0.45, float(d[f"{metric}_mean"].min()) - 0.02))
    fig.tight_layout()
    return fig


def roc_loglog(curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]) -> Figure:
    """Log-log ROC curves, one panel per family; ``curves[family][label] = (fpr, tpr)``."""
    n = len(curves)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.8), sharey=True, squeeze=False)
    for ax, (fam, lines) in zip(axes[0], curves.items(), strict=True):
        for label, (fpr, tpr) in lines.items():
            ax.plot(np.clip(fpr, 1e-4, 1), np.clip(tpr, 1e-4, 1), lw=1.1, label=label)
        ax.plot([1e-4, 1], [1e-4, 1], color="k", lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1e-3, 1)
        ax.set_ylim(1e-3, 1)
        ax.set_xlabel(f"FPR ({fam})")
        ax.legend(frameon=False, fontsize=6, loc="lower right")
    axes[0, 0].set_ylabel("TPR")
    fig.tight_layout()
    return fig
