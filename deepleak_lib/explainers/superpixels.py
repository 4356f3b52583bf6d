"""SLIC superpixels (Achanta et al., IEEE TPAMI 2012) as Captum feature masks.

LIME, KernelSHAP, Shapley value sampling, feature ablation and Anchors attribute to superpixels rather
than pixels, as in the release. Segments are computed per image on the CPU with scikit-image and
relabelled to 0..F-1 so that Captum does not spend forward passes on empty feature ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from skimage.segmentation import slic

# Setting keys shared by every superpixel-based explainer (see ``slic_defaults``).
SLIC_KEYS = ("n_segments", "compactness", "slic_sigma", "slic_max_num_iter", "slic_convert2lab")


def slic_defaults(n_segments: int) -> dict[str, Any]:
    """The SLIC part of an explainer's defaults, every scikit-image argument we rely on made explicit.

    compactness 10 and no pre-smoothing are the release's values; ``slic_convert2lab`` applies to
    3-channel images only (scikit-image's own default), grayscale images are segmented on intensity.
    """
    return {
        "n_segments": n_segments,
        "compactness": 10.0,
        "slic_sigma": 0.0,
        "slic_max_num_iter": 10,
        "slic_convert2lab": True,
    }


def slic_segments(
    images: np.ndarray | torch.Tensor,
    *,
    n_segments: int,
    compactness: float,
    slic_sigma: float = 0.0,
    slic_max_num_iter: int = 10,
    slic_convert2lab: bool = True,
) -> np.ndarray:
    """Superpixel labels for a batch of (N, C, H, W) images: int64 (N, H, W), labels 0..F_i-1 per image.

    ``channel_axis`` is set from C: a 1-channel image is passed as a 2-D grayscale array
    (``channel_axis=None``), otherwise channels go last. Labels start at 0 (``start_label=0``).
    """
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) images, got shape {arr.shape}")
    n, c = arr.shape[:2]
    out = np.empty((n, *arr.shape[2:]), dtype=np.int64)
    for i in range(n):
        img = arr[i].astype(np.float64)
        if c == 1:
            seg = slic(
                img[0],
                n_segments=n_segments,
                compactness=compactness,
                sigma=slic_sigma,
                max_num_iter=slic_max_num_iter,
                channel_axis=None,
                start_label=0,
            )
        else:
            seg = slic(
                np.moveaxis(img, 0, -1),
                n_segments=n_segments,
                compactness=compactness,
                sigma=slic_sigma,
                max_num_iter=slic_max_num_iter,
                channel_axis=-1,
                convert2lab=bool(slic_convert2lab and c == 3),
                start_label=0,
            )
        # Contiguous ids: Captum iterates over 0..max(id), so a gap would cost a wasted forward pass.
        out[i] = np.unique(seg, return_inverse=True)[1].reshape(seg.shape)
    return out


def slic_from_settings(images: torch.Tensor, settings: dict[str, Any]) -> np.ndarray:
    """``slic_segments`` with the SLIC keys taken from resolved explainer settings."""
    return slic_segments(images, **{k: settings[k] for k in SLIC_KEYS})
