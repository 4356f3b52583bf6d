"""Model registry and training: shapes, attribution-friendly modules, seeded training, safe checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepleak_lib.errors import DeepLeakError
from deepleak_lib.models import MODELS, build_model
from deepleak_lib.train import TrainConfig, load_weights, save_weights, train_model


@pytest.mark.parametrize("name, shape", [("small_cnn", (1, 28, 28)), ("small_cnn", (1, 8, 8)),
                                         ("small_cnn", (3, 32, 32)), ("mobilenetv2", (3, 32, 32)),
                                         ("resnet18", (3, 32, 32))])
def test_forward_shapes_and_cam_layer(name, shape):
    m = build_model(name, shape, 7).eval()
    assert m(torch.zeros(2, *shape)).shape == (2, 7)
    assert isinstance(m.cam_layer, nn.Conv2d)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_attribution_friendly(name):
    m = build_model(name, (3, 32, 32), 10)
    mods = list(m.modules())
    assert not any(isinstance(x, nn.Flatten) for x in mods)
    acts = [x for x in mods if isinstance(x, (nn.ReLU, nn.ReLU6))]
    assert all(not x.inplace for x in acts)
    assert len({id(x) for x in acts}) == len(acts)


def test_unknown_model_and_too_small_inputs():
    with pytest.raises(DeepLeakError, match="unknown model 'vgg'"):
        build_model("vgg", (1, 28, 28), 10)
    with pytest.raises(DeepLeakError, match="use model 'small_cnn'"):
        build_model("mobilenetv2", (1, 8, 8), 10)


def _data(n=80):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), n // 4)
    x = (rng.random((n, 1, 8, 8)) * 0.2 + (y[:, None, None, None] / 4)).astype(np.float32)
    return x, y


def test_training_is_seeded_and_learns(tmp_path):
    x, y = _data()
    cfg = TrainConfig(model="small_cnn", epochs=15, batch_size=16, lr=3e-3, seed=3)
    m1, r1 = train_model(cfg, (1, 8, 8), 4, x, y, x[:20], y[:20], progress=False)
    m2, r2 = train_model(cfg, (1, 8, 8), 4, x, y, x[:20], y[:20], progress=False)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert r1.train_acc > 0.9 and len(r1.history) == 15
    assert r1.to_dict()["gap"] == pytest.approx(r1.train_acc - r1.heldout_acc)


def test_checkpoint_roundtrip_safetensors_and_weights_only(tmp_path):
    x, y = _data()
    m, _ = train_model(TrainConfig(model="small_cnn", epochs=1), (1, 8, 8), 4, x, y, x, y, progress=False)
    save_weights(m, tmp_path / "w.safetensors")
    torch.save(m.state_dict(), tmp_path / "w.pt")
    for f in ("w.safetensors", "w.pt"):
        m2 = load_weights("small_cnn", (1, 8, 8), 4, tmp_path / f)
        assert torch.equal(m(torch.from_numpy(x[:4])), m2(torch.from_numpy(x[:4])))


@pytest.mark.parametrize("kw, fragment", [({"epochs": 0}, "epochs must be >= 1"), ({"lr": -1.0}, "lr must be > 0"),
                                          ({"optimizer": "lbfgs"}, "unknown optimizer")])
def test_invalid_train_config(kw, fragment):
    with pytest.raises(DeepLeakError, match=fragment):
        TrainConfig(model="small_cnn", **{"epochs": 1, **kw}).validate()
