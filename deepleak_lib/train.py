"""One training function for target, shadow and reference models.

Seeded end to end (initialisation, shuffling, augmentation), CPU or CUDA, with a tqdm bar. It returns
the trained model and a ``TrainResult`` (per-epoch curves, final train/held-out accuracy and the
generalisation gap). Training augmentation, if enabled, is applied here only, to training batches;
the inputs that are later queried or explained never pass through it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from .device import resolve_device
from .errors import DeepLeakError
from .models import build_model
from .seeding import torch_seeded

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """Every training hyperparameter, recorded with the weights."""

    model: str
    epochs: int
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    augment: bool = False  # random crop (pad 4) + horizontal flip, for 3-channel 32x32 images
    seed: int = 0

    def validate(self) -> None:
        if self.epochs < 1:
            raise DeepLeakError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise DeepLeakError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            raise DeepLeakError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise DeepLeakError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.optimizer not in OPTIMIZERS:
            raise DeepLeakError(f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")


@dataclass
class TrainResult:
    """Accuracies of the final model and the per-epoch curves."""

    train_acc: float
    heldout_acc: float
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def gap(self) -> float:
        """Generalisation gap: train accuracy minus held-out accuracy."""
        return self.train_acc - self.heldout_acc

    def to_dict(self) -> dict:
        return {**asdict(self), "gap": self.gap}


def _augment(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random 4-pixel-padded crop and horizontal flip (the usual CIFAR recipe)."""
    n, _, h, w = xb.shape
    padded = nn.functional.pad(xb, (4, 4, 4, 4))
    dx = torch.randint(0, 9, (n,), generator=gen)
    dy = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    out[flip] = out[flip].flip(-1)
    return out


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray, device: str = "cpu", batch_size: int = 512) -> np.ndarray:
    """Logits for pool images ``x`` (already preprocessed), in eval mode, batched."""
    dev = resolve_device(device)
    model = model.to(dev).eval()
    out = []
    for i in range(0, len(x), batch_size):
        out.append(model(torch.from_numpy(x[i : i + batch_size]).to(dev)).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def _accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, device: str) -> float:
    if len(x) == 0:
        return float("nan")
    return float((predict_logits(model, x, device).argmax(1) == y).mean())


def train_model(
    cfg: TrainConfig,
    in_shape: tuple[int, int, int],
    n_classes: int,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_heldout: np.ndarray,
    y_heldout: np.ndarray,
    *,
    device: str = "cpu",
    progress: bool = True,
    desc: str = "train",
) -> tuple[nn.Module, TrainResult]:
    """Train ``cfg.model`` from scratch on (x_train, y_train); report accuracy on both sets per epoch."""
    cfg.validate()
    dev = resolve_device(device)
    if cfg.augment and in_shape[0] != 3:
        raise DeepLeakError("augment: true is meant for 3-channel 32x32 images; set augment: false")
    with torch_seeded(cfg.seed):
        model = build_model(cfg.model, in_shape, n_classes).to(dev)
    gen = torch.Generator().manual_seed(cfg.seed)
    params = model.parameters()
    opt: torch.optim.Optimizer
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    bar = tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(perm), cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            xb = _augment(xt[idx], gen) if cfg.augment else xt[idx]
            xb, yb = xb.to(dev), yt[idx].to(dev)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        rec = {
            "epoch": epoch + 1,
            "train_loss": total / max(n, 1),
            "train_acc": _accuracy(model, x_train, y_train, device),
            "heldout_acc": _accuracy(model, x_heldout, y_heldout, device),
        }
        history.append(rec)
        bar.set_postfix(loss=f"{rec['train_loss']:.3f}", test=f"{rec['heldout_acc']:.3f}")
    model.eval()
    result = TrainResult(
        train_acc=history[-1]["train_acc"],
        heldout_acc=history[-1]["heldout_acc"],
        seconds=time.perf_counter() - t0,
        history=history,
    )
    return model, result


def save_weights(model: nn.Module, path: Path) -> None:
    """safetensors: no pickle, so loading a checkpoint cannot execute code."""
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))


def load_weights(
    name: str, in_shape: tuple[int, int, int], n_classes: int, path: Path, device: str = "cpu"
) -> nn.Module:
    """Rebuild a registered architecture and load weights from safetensors (or a ``weights_only`` .pt)."""
    model = build_model(name, in_shape, n_classes)
    path = Path(path)
    if path.suffix == ".safetensors":
        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.to(resolve_device(device)).eval()
