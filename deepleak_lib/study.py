"""The setup stage of the study: config, splits and trained models as cached artifacts.

``SetupConfig`` holds every parameter of chapter 00; ``Study`` turns it into artifacts
(splits -> one artifact per trained model, each with weights, curves and the model's logits on every
sample the threat model queries). Each artifact is a pure function of its config and its inputs, so
later chapters, the CLI and a cluster runner can ask for any piece and get the cached copy.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from . import data as data_mod
from . import models as models_mod
from . import splits as splits_mod
from . import train as train_mod
from .cache import Artifact, ArtifactCache, code_fingerprint, load_npz, save_npz
from .data import Dataset, get_dataset_spec, load_dataset, preprocess
from .device import resolve_device
from .errors import DeepLeakError
from .models import get_model_spec
from .paths import cache_dir
from .seeding import derive_seed
from .splits import SplitConfig, Splits, make_splits
from .train import TrainConfig, load_weights, predict_logits, save_weights, train_model

ROLES = ("target", "shadow", "reference")


@dataclass(frozen=True)
class SetupConfig:
    """Parameters of the threat-model setup (chapter 00); see ``params/<profile>/00_setup.yaml``."""

    dataset: str = "mnist5k"
    model: str = "small_cnn"
    n_members: int = 1000
    n_shadow_members: int = 1000
    n_shadow_models: int = 1
    n_reference_models: int = 8
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    augment: bool = False
    seed: int = 0
    device: str = "cpu"
    download: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetupConfig:
        """Build from a params mapping; keys of other chapters are ignored, wrong types are errors."""
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for k, v in d.items():
            if k not in known:
                continue
            default = known[k].default
            if isinstance(default, bool) and not isinstance(v, bool):
                raise DeepLeakError(f"{k} must be true or false, got {v!r}")
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise DeepLeakError(f"{k} must be a number, got {v!r}")
                v = type(default)(v)
            kwargs[k] = v
        cfg = cls(**kwargs)
        cfg.validate()
        return cfg

    def split_config(self) -> SplitConfig:
        return SplitConfig(
            n_members=self.n_members,
            n_shadow_members=self.n_shadow_members,
            n_shadow_models=self.n_shadow_models,
            n_reference_models=self.n_reference_models,
            seed=self.seed,
        )

    def train_config(self, role: str, index: int) -> TrainConfig:
        return TrainConfig(
            model=self.model,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            optimizer=self.optimizer,
            augment=self.augment,
            seed=derive_seed(self.seed, role, index),
        )

    def validate(self) -> None:
        """Check names and ranges without touching data (sizes vs the dataset are checked at split time)."""
        spec = get_dataset_spec(self.dataset)
        mspec = get_model_spec(self.model)
        if min(spec.shape[1:]) < mspec.min_size:
            raise DeepLeakError(
                f"model {self.model!r} needs images of at least {mspec.min_size}px but {self.dataset!r} has "
                f"{spec.shape[1]}px; use model 'small_cnn'"
            )
        resolve_device(self.device)
        self.split_config().validate()
        self.train_config("target", 0).validate()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Code fingerprints: an artifact is invalidated when a module that computed it changes (this module
# holds the stage functions, so it is part of both).
_SPLIT_CODE = code_fingerprint([splits_mod, data_mod, sys.modules[__name__]])
_TRAIN_CODE = code_fingerprint([train_mod, models_mod, splits_mod, data_mod, sys.modules[__name__]])


class Study:
    """Lazily materialised setup artifacts for one ``SetupConfig``."""

    def __init__(self, cfg: SetupConfig, cache: ArtifactCache | str | Path | None = None) -> None:
        cfg.validate()
        self.cfg = cfg
        self.cache = cache if isinstance(cache, ArtifactCache) else ArtifactCache(cache or cache_dir())

    @cached_property
    def dataset(self) -> Dataset:
        return load_dataset(self.cfg.dataset, download=self.cfg.download)

    # ---- splits -------------------------------------------------------------------------------------
    def splits_artifact(self) -> Artifact:
        scfg = self.cfg.split_config()
        scfg.validate(len(self.dataset))  # fail before anything is written
        config = {"dataset": self.cfg.dataset, "data_sha256": self.dataset.fingerprint(), **asdict(scfg)}

        def compute(tmp: Path) -> dict[str, Any]:
            s = make_splits(self.dataset.y, scfg)
            s.save(tmp / "splits.npz")
            return {"sizes": self._sizes(s)}

        return self.cache.get_or_compute("splits", config, compute, code=_SPLIT_CODE)

    @cached_property
    def splits(self) -> Splits:
        return Splits.load(self.splits_artifact().file("splits.npz"))

    @staticmethod
    def _sizes(s: Splits) -> dict[str, int]:
        return {
            "target_members": len(s.target_members),
            "target_nonmembers": len(s.target_nonmembers),
            "shadow_pool": len(s.shadow_pool),
            "shadow_members_per_model": int(s.shadow_keep.sum(1).mean()),
            "reference_models": int(len(s.reference_keep)),
            "reference_members_per_model": int(s.reference_keep.sum(1).mean()) if len(s.reference_keep) else 0,
        }

    # ---- inputs ----------------------------------------------------------------------------------------
    def query(self, indices: np.ndarray) -> np.ndarray:
        """The inputs sent to a model or an explainer: the same preprocessing for every sample."""
        return preprocess(self.dataset.x[np.asarray(indices)])

    def queried_indices(self) -> np.ndarray:
        """Every sample some model of the threat model is asked about (candidates and shadow pool)."""
        s = self.splits
        return np.sort(np.concatenate([s.candidates, s.shadow_pool]))

    # ---- models ------------------------------------------------------------------------------------------
    def _check_role(self, role: str, index: int) -> None:
        n = {"target": 1, "shadow": self.cfg.n_shadow_models, "reference": self.cfg.n_reference_models}
        if role not in n:
            raise DeepLeakError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
        if not 0 <= index < n[role]:
            raise DeepLeakError(f"{role} index {index} out of range: this setup has {n[role]} {role} model(s)")

    def model_artifact(self, role: str = "target", index: int = 0, progress: bool = True) -> Artifact:
        self._check_role(role, index)
        split_art = self.splits_artifact()
        tcfg = self.cfg.train_config(role, index)
        dev = resolve_device(self.cfg.device)
        config = {"role": role, "index": index, "train": asdict(tcfg), "device_type": dev.type}

        def compute(tmp: Path) -> dict[str, Any]:
            s, ds = self.splits, self.dataset
            tr, ho = s.train_indices(role, index), s.heldout_indices(role, index)
            model, res = train_model(
                tcfg, ds.shape, ds.n_classes, self.query(tr), ds.y[tr], self.query(ho), ds.y[ho],
                device=self.cfg.device, progress=progress, desc=f"{role}[{index}]",
            )
            save_weights(model, tmp / "weights.safetensors")
            (tmp / "metrics.json").write_text(json.dumps(res.to_dict(), indent=2))
            q = self.queried_indices()
            save_npz(tmp / "logits.npz", indices=q, logits=predict_logits(model, self.query(q), self.cfg.device))
            return {"metrics": res.to_dict(), "n_train": len(tr), "n_heldout": len(ho)}

        return self.cache.get_or_compute("model", config, compute, deps=[split_art], code=_TRAIN_CODE)

    def load_model(self, role: str = "target", index: int = 0) -> nn.Module:
        art = self.model_artifact(role, index)
        ds = self.dataset
        return load_weights(self.cfg.model, ds.shape, ds.n_classes, art.file("weights.safetensors"), self.cfg.device)

    def logits(self, role: str, index: int, indices: np.ndarray) -> np.ndarray:
        """Cached logits of one model for dataset ``indices`` (must be among the queried samples)."""
        d = load_npz(self.model_artifact(role, index).file("logits.npz"))
        pos = np.searchsorted(d["indices"], indices)
        if (pos >= len(d["indices"])).any() or not np.array_equal(d["indices"][pos], indices):
            raise DeepLeakError("logits requested for samples outside the threat model's queried set")
        return d["logits"][pos]

    def roles(self) -> list[tuple[str, int]]:
        return (
            [("target", 0)]
            + [("shadow", i) for i in range(self.cfg.n_shadow_models)]
            + [("reference", i) for i in range(self.cfg.n_reference_models)]
        )

    def train_all(self, progress: bool = True) -> pd.DataFrame:
        """Train (or load) every model of the setup; one row per model with its accuracies."""
        rows = []
        for role, i in self.roles():
            art = self.model_artifact(role, i, progress=progress)
            m = art.meta["metrics"]
            rows.append({
                "role": role, "index": i, "n_train": art.meta["n_train"],
                "train_acc": m["train_acc"], "heldout_acc": m["heldout_acc"], "gap": m["gap"],
                "train_seconds": m["seconds"],
            })
        return pd.DataFrame(rows)

    def histories(self) -> pd.DataFrame:
        """Per-epoch curves of every model (long format: role, index, epoch, metric columns)."""
        frames = []
        for role, i in self.roles():
            h = pd.DataFrame(self.model_artifact(role, i, progress=False).meta["metrics"]["history"])
            h.insert(0, "index", i)
            h.insert(0, "role", role)
            frames.append(h)
        return pd.concat(frames, ignore_index=True)

    def write_resolved_config(self, out_dir: Path) -> Path:
        """Write the resolved setup config (and the splits' key) beside a chapter's results."""
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "setup_config.json"
        payload = {**self.cfg.to_dict(), "splits_key": self.splits_artifact().key}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
        tmp.replace(path)
        return path
