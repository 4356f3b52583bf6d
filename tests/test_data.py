"""Dataset registry, offline loading, the torchvision path on tiny files, and identical preprocessing."""

from __future__ import annotations

import hashlib
import pickle
import struct

import numpy as np
import pytest

from deepleak_lib import data as data_mod
from deepleak_lib.data import DATASETS, DatasetSpec, load_dataset, preprocess
from deepleak_lib.errors import DeepLeakError
from deepleak_lib.study import SetupConfig, Study


def test_offline_datasets_load_in_unit_range():
    for name, n, shape in (("mnist5k", 5000, (1, 28, 28)), ("digits", 1797, (1, 8, 8))):
        ds = load_dataset(name)
        assert len(ds) == n and ds.shape == shape and ds.x.dtype == np.float32
        assert ds.x.min() >= 0 and ds.x.max() == 1.0
        assert sorted(np.unique(ds.y)) == list(range(10))


def test_mnist5k_is_class_balanced():
    assert (np.bincount(load_dataset("mnist5k").y) == 500).all()


def test_unknown_dataset_lists_choices():
    with pytest.raises(DeepLeakError, match="unknown dataset 'foo'; choose one of: cifar10"):
        load_dataset("foo")


@pytest.mark.parametrize("name, fname", [("cifar100", "cifar-100-python"), ("svhn", "train_32x32.mat"),
                                         ("fashionmnist", "FashionMNIST/raw/train-images-idx3-ubyte")])
def test_missing_offline_file_names_the_file(tmp_path, name, fname):
    with pytest.raises(DeepLeakError) as err:
        load_dataset(name, root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / fname) in msg and "\n" not in msg


def _write_idx(path, arr, magic):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        for d in arr.shape:
            f.write(struct.pack(">I", d))
        f.write(arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashionmnist", "FashionMNIST")])
def test_torchvision_idx_format(tmp_path, name, folder):
    rng = np.random.default_rng(0)
    raw = tmp_path / folder / "raw"
    parts = {"train": 6, "t10k": 4}
    for prefix, n in parts.items():
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 2051)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n), 2049)
    ds = load_dataset(name, root=tmp_path)
    assert len(ds) == 10 and ds.shape == (1, 28, 28)  # train and test merged into one pool
    assert ds.x.max() <= 1.0


def test_torchvision_cifar_format(tmp_path, monkeypatch):
    """CIFAR-10 batches in torchvision's layout; md5 lists point at the tiny files written here."""
    import torchvision.datasets as tvd

    rng = np.random.default_rng(0)
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()

    def dump(name, obj):
        (base / name).write_bytes(pickle.dumps(obj))
        return [name, hashlib.md5((base / name).read_bytes()).hexdigest()]

    train = [dump(f"data_batch_{i}", {"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8),
                                      "labels": [i % 10, (i + 1) % 10]}) for i in range(1, 6)]
    test = [dump("test_batch", {"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), "labels": [0, 1, 2]})]
    meta = dump("batches.meta", {"label_names": [str(i) for i in range(10)]})
    monkeypatch.setattr(tvd.CIFAR10, "train_list", train)
    monkeypatch.setattr(tvd.CIFAR10, "test_list", test)
    monkeypatch.setattr(tvd.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names", "md5": meta[1]})
    ds = load_dataset("cifar10", root=tmp_path)
    assert len(ds) == 13 and ds.shape == (3, 32, 32) and ds.y.dtype == np.int64


@pytest.fixture
def tiny_rgb(monkeypatch):
    """A registered 3x32x32 dataset of random images, for augmentation tests."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (240, 3, 32, 32)).astype(np.float32)
    y = np.repeat(np.arange(4), 60)
    spec = DatasetSpec("tiny_rgb", (3, 32, 32), 4, "test fixture", lambda root, dl: (x / 255, y), True)
    monkeypatch.setitem(DATASETS, "tiny_rgb", spec)
    return "tiny_rgb"


def test_same_preprocessing_for_members_and_nonmembers(tiny_rgb, tmp_path):
    """Training augmentation never reaches queried inputs: stored logits equal logits on raw images."""
    cfg = SetupConfig(dataset=tiny_rgb, n_members=40, n_shadow_members=40, n_reference_models=0, epochs=1,
                      augment=True)
    study = Study(cfg, cache=tmp_path / "c")
    sp = study.splits
    for idx in (sp.target_members, sp.target_nonmembers):
        assert np.array_equal(study.query(idx), preprocess(study.dataset.x[idx]))
        assert np.array_equal(study.query(idx), study.dataset.x[idx])
    model = study.load_model("target")
    from deepleak_lib.train import predict_logits

    for idx in (sp.target_members, sp.target_nonmembers):
        np.testing.assert_allclose(study.logits("target", 0, idx), predict_logits(model, study.dataset.x[idx]),
                                   rtol=1e-5, atol=1e-5)


def test_preprocess_has_no_randomness():
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    assert np.array_equal(preprocess(x), preprocess(x)) and np.array_equal(preprocess(x), x)


def test_registry_entries_are_documented():
    for name, spec in data_mod.DATASETS.items():
        assert spec.name == name and spec.source and spec.n_classes >= 2
        assert spec.offline or spec.files
