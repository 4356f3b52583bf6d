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
