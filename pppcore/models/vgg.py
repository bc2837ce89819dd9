"""VGG16 / VGG19 (Simonyan & Zisserman 2015) with swappable padding, torchvision-compatible."""

from __future__ import annotations

from torch import nn

from .base import PPPModel, init_weights
from .common import scaled
from .layers import PadConv2d, PadMaxPool2d

CONFIGS: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def init_linear(m: nn.Linear) -> None:
    nn.init.normal_(m.weight, 0, 0.01)
    nn.init.zeros_(m.bias)


def make_features(
    arch: str, padding: str, width: float, batch_norm: bool
) -> tuple[nn.Sequential, dict[str, str], int]:
    """torchvision's ``features`` Sequential for ``arch``, its LoIs (the output of conv blocks
    2-5 before their max-pool, paper Fig. 6) and its output channels. Shared by the
    classifier and the saliency model, so both have the same trunk, keys and alignment."""
    layers: list[nn.Module] = []
    in_channels, deferred, block = 3, False, 1
    loi = {}
    cfg = CONFIGS[arch]
    for i, v in enumerate(cfg):
        if v == "M":
            if block >= 2:
                loi[f"block{block}"] = f"features.{len(layers) - 1}"
            layers.append(PadMaxPool2d(2, 2, scheme=padding))
            block += 1
            continue
        out_channels = scaled(int(v), width)
        # conv-norm-pad-act: the ReLU before a conv moves into that conv (see PadConv2d).
        act = nn.ReLU() if deferred else None
        conv = PadConv2d(in_channels, out_channels, 3, padding=1, scheme=padding, act=act)
        layers += [conv, nn.BatchNorm2d(out_channels)] if batch_norm else [conv]
        deferred = cfg[i + 1] != "M"
        layers.append(nn.Identity() if deferred else nn.ReLU())
        in_channels = out_channels
    return nn.Sequential(*layers), loi, in_channels


class VGG(PPPModel):
    """``features`` / ``avgpool`` / ``classifier`` exactly as torchvision names them.

    LoIs: the output of conv blocks 2-5 before their max-pool (paper Fig. 6). The
    ``features`` Sequential is ``child("features")`` (``features`` is the LoI method).
    """

    def __init__(
        self,
        arch: str,
        padding: str = "zeros",
        num_classes: int = 1000,
        width: float = 1.0,
        batch_norm: bool = False,
        dropout: float = 0.5,
        init: str = "torchvision",
    ) -> None:
        super().__init__()
        self.config = dict(arch=arch, padding=padding, num_classes=num_classes, width=width, batch_norm=batch_norm,
                           init=init)
        features, self.loi, in_channels = make_features(arch, padding, width, batch_norm)
        self.set_child("features", features)  # torchvision's keys; ``self.features`` is the LoI method
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        hidden = scaled(4096, width)
        self.classifier = nn.Sequential(
            nn.Linear(in_channels * 7 * 7, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self.trunk = ("features",)
        init_weights(self, linear=init_linear, init=init)


def vgg16(
    *,
    padding: str = "zeros",
    num_classes: int = 1000,
    width: float = 1.0,
    batch_norm: bool = False,
    dropout: float = 0.5,
    init: str = "torchvision",
) -> VGG:
    """VGG16 (configuration D) with ``padding`` everywhere; ``batch_norm`` gives torchvision's ``vgg16_bn``."""
    return VGG("vgg16", padding, num_classes, width, batch_norm, dropout, init)


def vgg19(
    *,
    padding: str = "zeros",
    num_classes: int = 1000,
    width: float = 1.0,
    batch_norm: bool = False,
    dropout: float = 0.5,
    init: str = "torchvision",
) -> VGG:
    """VGG19 (configuration E) with ``padding`` everywhere; ``batch_norm`` gives torchvision's ``vgg19_bn``."""
    return VGG("vgg19", padding, num_classes, width, batch_norm, dropout, init)
