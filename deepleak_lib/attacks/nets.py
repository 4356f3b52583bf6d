"""Attack networks for the DeepLeak shadow attack: a map classifier with one membership logit.

For 32x32 maps the trunk is MobileNetV2 (Sandler et al., CVPR 2018) in its CIFAR layout, as in the
DeepLeak release; for small maps (e.g. 1x28x28, 1x8x8) two conv blocks suffice. Initialisation and
dropout draw from explicit ``torch.Generator``s so that a seed fixes the network without touching
torch's global RNG.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import DeepLeakError
from ..models import InvertedResidual  # the same block as the target architecture


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from ``self.generator`` (nn.Dropout only uses the global RNG)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise DeepLeakError(f"dropout must lie in [0, 1), got {p}")
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep.to(x.dtype) / (1.0 - self.p)


class MobileNetV2Trunk(nn.Module):
    """MobileNetV2 feature extractor, CIFAR strides (stem and first stage at stride 1); pooled output."""

    # (expansion, out channels, repeats, stride)
    CFG = (
        (1, 16, 1, 1),
        (6, 24, 2, 1),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )

    def __init__(self, in_channels: int, width_mult: float = 1.0) -> None:
        super().__init__()

        def w(c: int) -> int:
            return max(8, int(round(c * width_mult / 8)) * 8)

        cin = w(32)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, cin, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cin),
            nn.ReLU6(),
        ]
        for expand, cout, reps, stride in self.CFG:
            for i in range(reps):
                layers.append(InvertedResidual(cin, w(cout), stride if i == 0 else 1, expand))
                cin = w(cout)
        self.out_features = w(1280) if width_mult > 1.0 else 1280  # torchvision keeps 1280 when thinner
        layers += [
            nn.Conv2d(cin, self.out_features, 1, bias=False),
            nn.BatchNorm2d(self.out_features),
            nn.ReLU6(),
            nn.AdaptiveAvgPool2d(1),
        ]
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).reshape(x.shape[0], -1)


class SmallTrunk(nn.Module):
    """Two conv blocks (3x3 conv, ReLU, 2x2 max-pool) pooled to 4x4; for maps of side >= 4."""

    def __init__(self, in_channels: int, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
        )
        self.out_features = 2 * width * 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).reshape(x.shape[0], -1)


class MapClassifier(nn.Module):
    """Trunk -> dropout -> [optionally concat prediction vector f(x)] -> one membership logit."""

    def __init__(self, trunk: nn.Module, out_features: int, dropout: float, n_pred: int = 0) -> None:
        super().__init__()
        self.trunk = trunk
        self.dropout = SeededDropout(dropout)
        self.n_pred = n_pred
        self.head = nn.Linear(out_features + n_pred, 1)

    def forward(self, maps: torch.Tensor, pred: torch.Tensor | None = None) -> torch.Tensor:
        h = self.dropout(self.trunk(maps))
        if self.n_pred:
            if pred is None:
                raise DeepLeakError("this attack network needs prediction vectors; pass predictions=")
            h = torch.cat([h, pred], dim=1)
        return self.head(h)[:, 0]


def build_map_classifier(
    in_shape: tuple[int, int, int], *, trunk: str, dropout: float, n_pred: int, width_mult: float
) -> MapClassifier:
    """Pick the trunk: 'mobilenetv2', 'small', or 'auto' (MobileNetV2 when both sides are >= 32)."""
    c, h, w = in_shape
    if min(h, w) < 4:
        raise DeepLeakError(f"maps of shape {in_shape} are too small for the attack CNN; need sides >= 4")
    kind = ("mobilenetv2" if min(h, w) >= 32 else "small") if trunk == "auto" else trunk
    body: MobileNetV2Trunk | SmallTrunk
    if kind == "mobilenetv2":
        body = MobileNetV2Trunk(c, width_mult)
    elif kind == "small":
        body = SmallTrunk(c)
    else:
        raise DeepLeakError(f"unknown trunk {trunk!r}; choose one of: auto, mobilenetv2, small")
    return MapClassifier(body, body.out_features, dropout, n_pred)


@torch.no_grad()
def reset_parameters(model: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default conv/linear initialisation, drawn from ``generator`` instead of the global RNG."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in = m.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()
