"""Model registry: architectures for the targets, shadows and reference models.

Every architecture is written so that attribution methods work without surprises:
no ``nn.Flatten`` (Captum's LRP has no rule for it; we reshape in ``forward``), no in-place
activations and no module reused twice (Captum's DeepLIFT / Guided Backprop hook each module once),
and each model names its last convolution in ``cam_layer`` for Grad-CAM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .errors import DeepLeakError, unknown_name


class SmallCNN(nn.Module):
    """Two conv blocks + two linear layers; the default for 1x28x28 (works for any CxHxW >= 4x4)."""

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int, width: int = 32) -> None:
        super().__init__()
        c, h, w = in_shape
        self.conv1 = nn.Conv2d(c, width, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flat_dim = 2 * width * (h // 4) * (w // 4)
        self.fc1 = nn.Linear(self.flat_dim, 128)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(128, n_classes)

    @property
    def cam_layer(self) -> nn.Module:
        return self.conv2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = x.reshape(x.shape[0], -1)  # a reshape, not nn.Flatten: see module docstring
        return self.fc2(self.relu3(self.fc1(x)))


class InvertedResidual(nn.Module):
    """MobileNetV2 block (Sandler et al., CVPR 2018): expand 1x1, depthwise 3x3, project 1x1."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_res else out


class MobileNetV2CIFAR(nn.Module):
    """MobileNetV2 for 32x32 inputs: the first conv and the first stage keep stride 1 (CIFAR variant)."""

    # (expansion, out channels, repeats, stride); strides adapted to 32x32 as in common CIFAR ports.
    CFG = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__()
        c = in_shape[0]
        self.stem = nn.Sequential(nn.Conv2d(c, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6())
        blocks: list[nn.Module] = []
        cin = 32
        for expand, cout, reps, stride in self.CFG:
            for i in range(reps):
                blocks.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head_conv = nn.Conv2d(cin, 1280, 1, bias=False)
        self.head_bn = nn.BatchNorm2d(1280)
        self.head_act = nn.ReLU6()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1280, n_classes)

    @property
    def cam_layer(self) -> nn.Module:
        return self.head_conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head_act(self.head_bn(self.head_conv(self.blocks(self.stem(x)))))
        return self.fc(self.pool(x).reshape(x.shape[0], -1))


class _BasicBlock(nn.Module):
    """ResNet basic block (He et al., CVPR 2016) with distinct ReLU modules for attribution hooks."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.shortcut(x))


class ResNet18CIFAR(nn.Module):
    """ResNet-18 for 32x32 inputs (3x3 stem, no max-pool)."""

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__()
        c = in_shape[0]
        self.stem = nn.Sequential(nn.Conv2d(c, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        layers: list[nn.Module] = []
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [_BasicBlock(cin, cout, stride), _BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, n_classes)

    @property
    def cam_layer(self) -> nn.Module:
        return self.layers[-1].conv2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.fc(self.pool(x).reshape(x.shape[0], -1))


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: how to build the network and what inputs it was designed for."""

    name: str
    builder: Callable[[tuple[int, int, int], int], nn.Module]
    description: str
    min_size: int  # smallest spatial side the architecture supports


MODELS: dict[str, ModelSpec] = {
    "small_cnn": ModelSpec("small_cnn", SmallCNN, "2 conv + 2 linear layers, ~0.4M parameters on 1x28x28", 4),
    "mobilenetv2": ModelSpec(
        "mobilenetv2", MobileNetV2CIFAR, "MobileNetV2, CIFAR variant (Sandler et al. 2018); the paper's model", 16
    ),
    "resnet18": ModelSpec("resnet18", ResNet18CIFAR, "ResNet-18, CIFAR variant (He et al. 2016)", 16),
}


def get_model_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise unknown_name("model", name, MODELS)
    return MODELS[name]


def build_model(name: str, in_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """Instantiate a registered architecture for inputs of ``in_shape`` (C, H, W)."""
    spec = get_model_spec(name)
    if min(in_shape[1:]) < spec.min_size:
        raise DeepLeakError(
            f"model {name!r} needs inputs of at least {spec.min_size}x{spec.min_size}, got {in_shape}; "
            "use model 'small_cnn' for small images"
        )
    return spec.builder(tuple(in_shape), int(n_classes))
