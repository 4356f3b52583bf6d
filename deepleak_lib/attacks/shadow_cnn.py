"""DeepLeak's explanation-aware shadow attack: a binary CNN on raw attribution maps.

DeepLeak (IEEE SaTML 2026, arXiv 2601.03429) trains a classifier on the shadow model's attribution
maps of its members (label 1) and non-members (label 0), following the shadow-model recipe of
Shokri et al. (IEEE S&P 2017), and scores the target's maps with it. Settings as released: BCE with
logits, Adam (lr 1e-3, weight decay 1e-4), ReduceLROnPlateau (patience 5, factor 0.5) on the
validation loss, batch 128, 10 epochs (15 for perturbation explainers), 80/20 split of the shadow
set. Departures, to avoid the release's known weaknesses: the split is stratified and seeded, the
kept epoch is the one with the best SHADOW validation loss, and maps are rescaled per sample
(``standardize``) so explainers of different scale train alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from scipy.special import expit
from torch import nn

from ..errors import DeepLeakError
from ..metrics import best_threshold
from .base import Attack, ShadowSet, TargetQuery
from .nets import MapClassifier, build_map_classifier, reset_parameters

Standardize = Literal["max_abs", "zscore", "none"]


@dataclass(frozen=True)
class DeepLeakCNNConfig:
    """Every setting of the DeepLeak CNN attack (recorded with the results)."""

    epochs: int = 10  # the release used 15 for perturbation explainers (Occlusion, LIME, SHAP, ...)
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    val_fraction: float = 0.2
    dropout: float = 0.5
    standardize: Standardize = "max_abs"  # per map: divide by max|A| / z-score / leave raw
    trunk: str = "auto"  # 'auto' (MobileNetV2 for sides >= 32, else small), 'mobilenetv2', 'small'
    width_mult: float = 1.0  # MobileNetV2 width multiplier
    use_predictions: bool = False  # concatenate f(x) to the pooled features (deepleak_cnn_pred)
    balance_tolerance: float = 0.1  # shadow members must be 50% +- this share (BCE is unweighted)
    eval_batch_size: int = 512

    def validate(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or self.eval_batch_size < 1:
            raise DeepLeakError("epochs must be >= 1 and batch_size >= 2; fix the DeepLeak CNN settings")
        if not (
            self.lr > 0
            and self.weight_decay >= 0
            and 0 < self.plateau_factor < 1
            and self.plateau_patience >= 0
        ):
            raise DeepLeakError(
                "need lr > 0, weight_decay >= 0, 0 < plateau_factor < 1, plateau_patience >= 0"
            )
        if not 0 < self.val_fraction < 1:
            raise DeepLeakError(
                f"val_fraction must lie in (0, 1), got {self.val_fraction}; the release used 0.2"
            )
        if self.standardize not in ("max_abs", "zscore", "none"):
            raise DeepLeakError(
                f"unknown standardize {self.standardize!r}; choose one of: max_abs, none, zscore"
            )
        if not 0 <= self.dropout < 1 or self.width_mult <= 0 or not 0 <= self.balance_tolerance <= 0.5:
            raise DeepLeakError("need 0 <= dropout < 1, width_mult > 0 and 0 <= balance_tolerance <= 0.5")


def standardize_maps(maps: np.ndarray, how: Standardize) -> np.ndarray:
    """Per-sample rescaling of maps (N, C, H, W) -> float32; all-zero maps stay zero."""
    a = np.asarray(maps, dtype=np.float32)
    flat = a.reshape(a.shape[0], -1)
    if how == "max_abs":
        scale = np.abs(flat).max(axis=1, keepdims=True)
        flat = np.divide(flat, scale, out=np.zeros_like(flat), where=scale > 0)
    elif how == "zscore":
        mu = flat.mean(axis=1, keepdims=True)
        sd = flat.std(axis=1, keepdims=True)
        flat = np.divide(flat - mu, sd, out=np.zeros_like(flat), where=sd > 0)
    elif how != "none":
        raise DeepLeakError(f"unknown standardize {how!r}; choose one of: max_abs, none, zscore")
    return flat.reshape(a.shape)


def _as_nchw(maps: object, who: str) -> np.ndarray:
    a = np.asarray(maps)
    if a.ndim == 3:
        a = a[:, None]  # (N, H, W): one-channel maps such as Grad-CAM
    if a.ndim != 4:
        raise DeepLeakError(f"{who} maps must be (N, C, H, W) or (N, H, W), got {a.shape}")
    return a


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split keeping the member share equal in train and validation; returns index arrays."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(val_fraction * idx.shape[0]))
        if n_val < 1 or n_val >= idx.shape[0]:
            raise DeepLeakError(
                f"class {c} has {idx.shape[0]} shadow samples, too few for a {val_fraction:.0%} validation split"
            )
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _batches(n: int, size: int) -> list[tuple[int, int]]:
    bounds = [(i, min(i + size, n)) for i in range(0, n, size)]
    # BatchNorm cannot train on a single sample: fold a trailing singleton into the previous batch.
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class DeepLeakCNN(Attack):
    """DeepLeak CNN attack on attribution maps (optionally with prediction vectors).

    ``fit(ShadowSet(maps, shadow_labels[, predictions]), seed=...)`` trains on the shadow set;
    ``score(TargetQuery(maps[, predictions]))`` returns sigmoid(logit) in float64 (``logits`` gives the
    ranking-equivalent logits, which do not saturate). ``threshold_`` (probability scale) is picked on
    the shadow validation split. ``history_`` holds per-epoch train/val loss and learning rate.
    """

    name: ClassVar[str] = "deepleak_cnn"
    data_type: ClassVar[type] = ShadowSet

    def __init__(
        self, config: DeepLeakCNNConfig | None = None, *, device: str = "cpu", **settings: Any
    ) -> None:
        super().__init__()
        known = {f.name for f in fields(DeepLeakCNNConfig)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise DeepLeakError(
                f"unknown DeepLeak CNN settings {unknown}; choose from: {', '.join(sorted(known))}"
            )
        base = asdict(config) if config is not None else {}
        self.config = DeepLeakCNNConfig(**{**base, **settings})
        self.config.validate()
        self.device = str(device)
        self.model_: MapClassifier | None = None
        self.history_: list[dict[str, float]] = []
        self.best_epoch_: int | None = None
        self._in_shape: tuple[int, int, int] | None = None

    def hyperparameters(self) -> dict[str, Any]:
        return {**asdict(self.config), "device": self.device}

    def _device(self) -> torch.device:
        dev = torch.device(self.device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise DeepLeakError(
                f"device {self.device!r} requested but CUDA is not available; use device='cpu'"
            )
        return dev

    def _tensors(
        self, maps: object, predictions: object, who: str
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = torch.from_numpy(standardize_maps(_as_nchw(maps, who), self.config.standardize))
        if not self.config.use_predictions:
            return x, None
        if predictions is None:
            raise DeepLeakError(f"{self.name!r} uses prediction vectors; pass predictions= in the {who} data")
        return x, torch.from_numpy(np.asarray(predictions, dtype=np.float32))

    def _fit(self, data: ShadowSet, *, seed: int) -> None:
        cfg = self.config
        data.validate(require_balanced=True, balance_tolerance=cfg.balance_tolerance)
        dev = self._device()
        x, p = self._tensors(data.features, data.predictions, "shadow")
        y = torch.from_numpy(np.asarray(data.labels).astype(np.float32))
        # Independent streams for split, init, shuffling and dropout, all from the one seed.
        s_split, s_init, s_shuffle, s_drop = np.random.SeedSequence(seed).generate_state(4)
        tr, va = stratified_split(y.numpy().astype(np.int8), cfg.val_fraction, int(s_split))
        self._in_shape = tuple(x.shape[1:])  # type: ignore[assignment]
        n_pred = 0 if p is None else int(p.shape[1])
        # Build on the meta device: module constructors would otherwise draw from torch's global RNG.
        with torch.device("meta"):
            model = build_map_classifier(
                self._in_shape, trunk=cfg.trunk, dropout=cfg.dropout, n_pred=n_pred, width_mult=cfg.width_mult
            )
        model.to_empty(device="cpu")
        reset_parameters(model, torch.Generator().manual_seed(int(s_init)))
        model.to(dev)
        model.dropout.generator = torch.Generator(device=dev).manual_seed(int(s_drop))
        g_shuffle = torch.Generator().manual_seed(int(s_shuffle))
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=cfg.plateau_factor, patience=cfg.plateau_patience
        )
        loss_fn = nn.BCEWithLogitsLoss()
        tr_t, va_t = torch.from_numpy(tr), torch.from_numpy(va)
        best_val, best_state = float("inf"), None
        self.history_ = []
        for epoch in range(cfg.epochs):
            model.train()
            order = tr_t[torch.randperm(tr_t.shape[0], generator=g_shuffle)]
            total = 0.0
            for a, b in _batches(order.shape[0], cfg.batch_size):
                idx = order[a:b]
                logits = model(x[idx].to(dev), None if p is None else p[idx].to(dev))
                loss = loss_fn(logits, y[idx].to(dev))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * (b - a)
            val_logits = self._logits(model, x[va_t], None if p is None else p[va_t])
            val_loss = float(loss_fn(torch.from_numpy(val_logits).float(), y[va_t]))
            sched.step(val_loss)
            self.history_.append(
                {
                    "epoch": epoch,
                    "train_loss": total / tr.shape[0],
                    "val_loss": val_loss,
                    "lr": opt.param_groups[0]["lr"],
                }
            )
            if val_loss < best_val:
                best_val, self.best_epoch_ = val_loss, epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        assert best_state is not None
        model.load_state_dict(best_state)
        self.model_ = model
        val_scores = self._logits(model, x[va_t], None if p is None else p[va_t])
        thr, _ = best_threshold(val_scores, y[va_t].numpy())
        self.threshold_ = float(expit(thr)) if np.isfinite(thr) else thr

    @torch.no_grad()
    def _logits(self, model: MapClassifier, x: torch.Tensor, p: torch.Tensor | None) -> np.ndarray:
        model.eval()
        dev = next(model.parameters()).device
        out = []
        for a, b in _batches(x.shape[0], self.config.eval_batch_size):
            out.append(model(x[a:b].to(dev), None if p is None else p[a:b].to(dev)).float().cpu())
        return torch.cat(out).numpy().astype(np.float64)

    def logits(self, query: TargetQuery) -> np.ndarray:
        """Membership logits per target sample; same ranking as ``score`` without sigmoid saturation."""
        if self.model_ is None:
            raise DeepLeakError(f"attack {self.name!r} is not fitted; call fit() on shadow data first")
        query.validate()
        x, p = self._tensors(query.features, query.predictions, "target")
        if tuple(x.shape[1:]) != self._in_shape:
            raise DeepLeakError(
                f"target maps have shape {tuple(x.shape[1:])}, the attack was fitted on {self._in_shape}"
            )
        if p is not None and p.shape[1] != self.model_.n_pred:
            raise DeepLeakError(
                f"target predictions have {p.shape[1]} classes, the attack was fitted on {self.model_.n_pred}"
            )
        return self._logits(self.model_, x, p)

    def _score(self, query: TargetQuery) -> np.ndarray:
        return expit(self.logits(query))


class DeepLeakCNNPred(DeepLeakCNN):
    """``deepleak_cnn`` with the prediction vector f(x) (N, K) concatenated to the pooled map features."""

    name: ClassVar[str] = "deepleak_cnn_pred"

    def __init__(
        self, config: DeepLeakCNNConfig | None = None, *, device: str = "cpu", **settings: Any
    ) -> None:
        settings.setdefault("use_predictions", True)
        super().__init__(config, device=device, **settings)
