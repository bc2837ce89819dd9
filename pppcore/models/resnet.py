"""ResNet50 (He et al. 2016, torchvision's v1.5: stride on the 3x3) with swappable padding."""

from __future__ import annotations

import torch
from torch import nn

from .base import PPPModel, init_weights
from .common import scaled
from .layers import PadConv2d, PadMaxPool2d, Residual

# (conv kernel, pad), (max-pool kernel, pad), both stride 2. "paper" is the stem of the
# paper's App. A ResNet50 table (3x3 conv, 2x2 pool); its weights do not fit torchvision's.
STEMS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "torchvision": ((7, 3), (3, 1)),
    "paper": ((3, 1), (2, 0)),
}


class Bottleneck(Residual):
    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None, scheme: str = "zeros"
    ) -> None:
        super().__init__()
        self.conv1 = PadConv2d(inplanes, planes, 1, bias=False, scheme=scheme)
        self.bn1 = nn.BatchNorm2d(planes)
        # conv-norm-pad-act: conv2 pads bn1's output, then applies the ReLU.
        self.conv2 = PadConv2d(planes, planes, 3, stride, 1, bias=False, scheme=scheme, act=nn.ReLU())
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = PadConv2d(planes, planes * self.expansion, 1, bias=False, scheme=scheme)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def main_path(self) -> list[tuple[str, nn.Module]]:
        return [("conv1", self.conv1), ("conv2", self.conv2), ("conv3", self.conv3)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn1(self.conv1(x))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = self.shortcut_input(x)
        if self.downsample is not None:
            identity = self.downsample(identity)
        return self.relu(out + identity)


class ResNet(PPPModel):
    """torchvision's module names; LoIs ``layer1`` .. ``layer4`` (paper Fig. 6)."""

    def __init__(
        self,
        arch: str = "resnet50",
        padding: str = "zeros",
        num_classes: int = 1000,
        width: float = 1.0,
        layers: tuple[int, int, int, int] = (3, 4, 6, 3),
        stem: str = "torchvision",
        init: str = "torchvision",
    ) -> None:
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"unknown stem {stem!r}; allowed: {', '.join(STEMS)}")
        self.config = dict(arch=arch, padding=padding, num_classes=num_classes, width=width, stem=stem, init=init)
        self.scheme = padding
        self.inplanes = scaled(64, width)
        (ck, cp), (pk, pp) = STEMS[stem]
        self.conv1 = PadConv2d(3, self.inplanes, ck, 2, cp, bias=False, scheme=padding)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU()
        self.maxpool = PadMaxPool2d(pk, 2, pp, scheme=padding)
        self.layer1 = self._make_layer(scaled(64, width), layers[0])
        self.layer2 = self._make_layer(scaled(128, width), layers[1], stride=2)
        self.layer3 = self._make_layer(scaled(256, width), layers[2], stride=2)
        self.layer4 = self._make_layer(scaled(512, width), layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes)
        self.loi = {f"layer{i}": f"layer{i}" for i in range(1, 5)}
        self.trunk = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")
        init_weights(self, init=init)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        out = planes * Bottleneck.expansion
        if stride != 1 or self.inplanes != out:
            downsample = nn.Sequential(
                PadConv2d(self.inplanes, out, 1, stride, bias=False, scheme=self.scheme), nn.BatchNorm2d(out)
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample, self.scheme)]
        self.inplanes = out
        layers += [Bottleneck(out, planes, scheme=self.scheme) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(
    *,
    padding: str = "zeros",
    num_classes: int = 1000,
    width: float = 1.0,
    stem: str = "torchvision",
    init: str = "torchvision",
) -> ResNet:
    """ResNet50 (torchvision's v1.5) with ``padding`` everywhere; ``stem="paper"`` is the
    3x3 conv + 2x2 pool stem of the paper's App. A table (its weights do not fit torchvision's)."""
    return ResNet("resnet50", padding, num_classes, width, (3, 4, 6, 3), stem, init)
