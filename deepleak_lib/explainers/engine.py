"""The explanation engine: one entry point for every registered explainer.

``explain`` resolves and validates the settings, moves the model to the device and puts it in eval
mode, then walks the inputs in batches (tqdm progress optional) and returns float32 maps with exactly
the inputs' shape (N, C, H, W). Maps that are one value per pixel (Grad-CAM and Grad-CAM++ after
upsampling; LIME, KernelSHAP, Shapley and feature-ablation superpixel values; the Anchors mask) are
the same in every channel: they are broadcast over the C channels, so every map lines up with its
input. A batch that fails raises (nothing is skipped), and so does a map with a NaN or an infinity.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..device import resolve_device
from ..errors import DeepLeakError
from .context import RunContext
from .registry import TARGET_POLICIES, get_explainer_spec, resolve_settings

# Rows per forward pass when the caller does not say: large enough for good throughput on a CPU with
# small models (see benchmarks/README.md), and a GPU's larger appetite.
DEFAULT_MAX_ROWS = {"cpu": 128, "cuda": 2048}


def _as_inputs(inputs: Any) -> torch.Tensor:
    x = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs))
    if x.ndim != 4:
        raise DeepLeakError(f"inputs must have shape (N, C, H, W), got {tuple(x.shape)}")
    if not torch.is_floating_point(x):
        raise DeepLeakError(f"inputs must be floating point, got {x.dtype}")
    return x.detach().to(torch.float32)


def _as_targets(targets: Any, n: int) -> torch.Tensor:
    t = targets if isinstance(targets, torch.Tensor) else torch.as_tensor(np.asarray(targets))
    if t.ndim != 1 or len(t) != n:
        raise DeepLeakError(f"targets must be a 1-D array of {n} class indices, got shape {tuple(t.shape)}")
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.is_complex():
        raise DeepLeakError(f"targets must be integers, got {t.dtype}")
    if n and int(t.min()) < 0:
        raise DeepLeakError("targets must be non-negative class indices")
    return t.detach().to(torch.long)


def _prepare(model: nn.Module, dev: torch.device) -> bool:
    """Move ``model`` to ``dev`` (only if needed: ``.to`` walks every module) and set eval mode.

    Returns the root's training flag before the call, for the caller to restore.
    """
    was_training = model.training
    tensors = itertools.chain(model.parameters(), model.buffers())
    if any(p.device != dev for p in tensors):
        model.to(dev)
    model.eval()
    return was_training


def explain(
    model: nn.Module,
    inputs: np.ndarray | torch.Tensor,
    targets: np.ndarray | torch.Tensor,
    method: str,
    /,
    *,
    seed: int = 0,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    progress: bool = False,
    max_rows: int | None = None,
    reference_inputs: np.ndarray | torch.Tensor | None = None,
    **settings: Any,
) -> np.ndarray:
    """Attribution maps of ``model`` for ``inputs`` (N, C, H, W) and class ``targets`` (N,).

    Args:
        model, inputs, targets, method: positional-only (so that the ``method`` setting of Integrated
            Gradients can be passed as a keyword). ``targets`` are chosen by the caller; apply the
            registry's ``target_policy`` with ``select_targets``.
        seed: drives every random draw. Per-sample methods (LIME, KernelSHAP, Shapley sampling,
            Anchors, ProtoDash tie-breaks) seed each sample from (seed, its index in ``inputs``), so
            their maps do not depend on ``batch_size``; SmoothGrad/VarGrad seed each batch from
            (seed, index of its first sample), so theirs do (Captum draws the noise for a whole batch).
        batch_size: inputs handed to the explainer at once; capped so that one forward pass holds at
            most ``max_rows`` rows (e.g. ``max_rows // nt_samples_batch_size`` for SmoothGrad).
        device: "cpu" or "cuda[:i]"; the model is moved there (in place) and put in eval mode; its
            previous training flag is restored afterwards.
        max_rows: memory bound, the most rows in any single forward/backward pass of the model
            (Integrated Gradients steps, occlusion windows, superpixel coalitions are packed up to it).
            Default: 128 on CPU, 2048 on CUDA. Deterministic maps do not depend on it.
        reference_inputs: (M, C, H, W) pool that ProtoDash selects prototypes from; ignored otherwise.
        **settings: overrides of the registry defaults (see ``resolve_settings``).

    Returns:
        float32 array with exactly the shape of ``inputs``.
    """
    spec = get_explainer_spec(method)
    resolved = resolve_settings(method, **settings)
    dev = resolve_device(device)
    x_all = _as_inputs(inputs)
    t_all = _as_targets(targets, len(x_all))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DeepLeakError(f"batch_size must be a positive integer, got {batch_size!r}")
    rows = DEFAULT_MAX_ROWS.get(dev.type, 256) if max_rows is None else max_rows
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise DeepLeakError(f"max_rows must be a positive integer, got {max_rows!r}")
    ref = None
    if reference_inputs is not None:
        ref = _as_inputs(reference_inputs).to(dev)
    out = np.empty(tuple(x_all.shape), dtype=np.float32)
    if len(x_all) == 0:
        return out

    chunk = max(1, min(batch_size, rows // max(1, spec.rows_per_sample(resolved))))
    was_training = _prepare(model, dev)
    try:
        ctx = RunContext(device=dev, seed=int(seed), max_rows=rows, reference_inputs=ref)
        run = spec.builder(model, resolved, ctx)
        bar = tqdm(total=len(x_all), desc=method, unit="sample") if progress else None
        for start in range(0, len(x_all), chunk):
            stop = min(start + chunk, len(x_all))
            xb = x_all[start:stop].to(dev)
            tb = t_all[start:stop].to(dev)
            try:
                maps = run(xb, tb, start)
            except DeepLeakError:
                raise
            except Exception as err:  # noqa: BLE001 - re-raised with the batch named, never skipped
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise DeepLeakError(
                    f"explainer {method!r} failed on samples {start}..{stop - 1}: {type(err).__name__}: {first}"
                ) from err
            maps = maps.detach()
            if maps.shape[1] == 1 and xb.shape[1] != 1:
                maps = maps.expand(-1, xb.shape[1], -1, -1)  # one-channel maps apply to every channel
            if tuple(maps.shape) != tuple(xb.shape):
                raise DeepLeakError(
                    f"explainer {method!r} returned maps of shape {tuple(maps.shape)} for inputs {tuple(xb.shape)}"
                )
            block = maps.to("cpu", torch.float32).numpy()
            if not np.isfinite(block).all():
                raise DeepLeakError(
                    f"explainer {method!r} produced non-finite values on samples {start}..{stop - 1}"
                )
            out[start:stop] = block
            if bar is not None:
                bar.update(stop - start)
        if bar is not None:
            bar.close()
    finally:
        if was_training:  # eval() already left every submodule in eval mode otherwise
            model.train(True)
    return out


def select_targets(
    model: nn.Module,
    inputs: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor | None,
    policy: str,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Class to explain per sample: the true ``labels`` ("true") or the model's argmax ("predicted").

    Returns an int64 array of length N. The release explained gradient/CAM methods at the true label
    and LIME/SHAP/perturbation methods at the predicted one (``ExplainerSpec.target_policy``).
    """
    if policy not in TARGET_POLICIES:
        raise DeepLeakError(f"unknown target policy {policy!r}; choose one of: {', '.join(TARGET_POLICIES)}")
    x = _as_inputs(inputs)
    if policy == "true":
        if labels is None:
            raise DeepLeakError("target policy 'true' needs labels")
        return _as_targets(labels, len(x)).numpy().astype(np.int64)
    dev = resolve_device(device)
    was_training = _prepare(model, dev)
    try:
        with torch.inference_mode():
            preds = [model(x[i : i + batch_size].to(dev)).argmax(1).cpu() for i in range(0, len(x), batch_size)]
    finally:
        if was_training:
            model.train(True)
    return torch.cat(preds).numpy().astype(np.int64) if preds else np.zeros(0, dtype=np.int64)
