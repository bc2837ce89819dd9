"""VGG salient-object detection (Table 2's VGG16-SOD row): the VGG trunk plus a light head.

The trunk is :func:`pppcore.models.vgg.make_features` unchanged (same keys, LoIs and
alignment as the classifier), so ``align``, ``make_twin`` and ``measure_ppp`` treat it
exactly like a classification VGG. The paper trains PiCANet on DUTS; we keep only what
the PPP measurement needs (the VGG16 trunk) and replace PiCANet's attention decoder by
a feature-pyramid head of 1x1 convolutions:

    each LoI (blocks 2-5, after ReLU) -> 1x1 conv to D channels -> bilinear resize to
    block 2's map (1/2 of the input) -> sum -> ReLU -> 1x1 conv to 1 channel -> bilinear
    resize to the input size: one saliency logit per input pixel (trained with BCE).

Only 1x1 convolutions: the head pads nothing, so the padding under study lives in the
trunk alone. D = max(8, 64 * width).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import PPPModel, init_weights
from .common import scaled
from .vgg import make_features


class SaliencyVGG(PPPModel):
    """``features`` (torchvision's VGG trunk) + ``decoder`` -> N x 1 x H x W logits."""

    def __init__(
        self, arch: str, padding: str = "zeros", width: float = 1.0, batch_norm: bool = False, init: str = "torchvision"
    ) -> None:
        super().__init__()
        self.config = dict(arch=arch, padding=padding, num_classes=1, width=width, batch_norm=batch_norm,
                           task="saliency", init=init)
        features, self.loi, _ = make_features(arch, padding, width, batch_norm)
        self.set_child("features", features)  # torchvision's keys; ``self.features`` is the LoI method
        self.trunk = ("features",)
        self._taps = {int(path.split(".")[1]): name for name, path in self.loi.items()}
        dim = max(8, scaled(64, width))
        self.decoder = nn.ModuleDict(
            {
                "lateral": nn.ModuleList(nn.Conv2d(_out_channels(features, i), dim, 1) for i in sorted(self._taps)),
                "predict": nn.Conv2d(dim, 1, 1),
            }
        )
        init_weights(self, init=init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        taps = []
        for i, module in enumerate(self.child("features")):
            x = module(x)
            if i in self._taps:
                taps.append(x)
                if len(taps) == len(self._taps):
                    break  # the last max-pool is not needed
        lateral = self.decoder["lateral"]
        target = taps[0].shape[-2:]
        fused = sum(
            F.interpolate(conv(t), size=target, mode="bilinear", align_corners=False)
            for conv, t in zip(lateral, taps, strict=True)
        )
        out = self.decoder["predict"](torch.relu(fused))
        return F.interpolate(out, size=size, mode="bilinear", align_corners=False)


def _out_channels(features: nn.Sequential, index: int) -> int:
    """Channels of the map after ``features[index]``: those of the last conv at or before it."""
    for module in reversed(list(features)[: index + 1]):
        if hasattr(module, "out_channels"):
            return int(module.out_channels)
    raise ValueError(f"no convolution before features.{index}")


def saliency_vgg16(
    *, padding: str = "zeros", width: float = 1.0, batch_norm: bool = False, init: str = "torchvision"
) -> SaliencyVGG:
    """The VGG16 trunk with the saliency head (Table 2's VGG16-SOD row)."""
    return SaliencyVGG("vgg16", padding, width, batch_norm, init)


def saliency_vgg19(
    *, padding: str = "zeros", width: float = 1.0, batch_norm: bool = False, init: str = "torchvision"
) -> SaliencyVGG:
    """The VGG19 trunk with the saliency head."""
    return SaliencyVGG("vgg19", padding, width, batch_norm, init)
