"""EfficientNet-B0 (Tan & Le 2019) with swappable padding, torchvision-compatible names."""

from __future__ import annotations

import math

import torch
from torch import nn

from .base import PPPModel, init_weights
from .layers import PadConv2d, Residual, SqueezeExcitation, StochasticDepth

# (expand ratio, kernel, stride, in channels, out channels, layers): B0, torchvision order.
B0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


def init_linear(m: nn.Linear) -> None:
    bound = 1.0 / math.sqrt(m.out_features)
    nn.init.uniform_(m.weight, -bound, bound)
    nn.init.zeros_(m.bias)


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's channel rounding (nearest multiple of 8, never 10 % below ``value``)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def conv_norm(
    in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, *,
    scheme: str, act: bool, deferred_act: bool,
) -> nn.Sequential:
    """torchvision's ``Conv2dNormActivation`` layout (keys ``0`` conv, ``1`` bn, ``2`` act).

    ``deferred_act``: this conv owns the SiLU of the layer before it (conv-norm-pad-act);
    ``act`` False leaves slot 2 empty because the next conv will own it.
    """
    owned = nn.SiLU() if deferred_act else None
    layers: list[nn.Module] = [
        PadConv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups, bias=False, scheme=scheme, act=owned),
        nn.BatchNorm2d(out_ch),
    ]
    if act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class MBConv(Residual):
    def __init__(
        self, expand: int, kernel: int, stride: int, in_ch: int, out_ch: int, drop: float, *,
        scheme: str, squeeze_excitation: bool, input_deferred: bool,
    ) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and in_ch == out_ch
        expanded = make_divisible(in_ch * expand)
        layers: list[nn.Module] = []
        if expanded != in_ch:
            layers.append(conv_norm(in_ch, expanded, 1, scheme=scheme, act=False, deferred_act=input_deferred))
            input_deferred = True
        depthwise = conv_norm(expanded, expanded, kernel, stride, expanded, scheme=scheme, act=True,
                              deferred_act=input_deferred)
        layers.append(depthwise)
        layers.append(SqueezeExcitation(expanded, max(1, in_ch // 4)) if squeeze_excitation else nn.Identity())
        layers.append(conv_norm(expanded, out_ch, 1, scheme=scheme, act=False, deferred_act=False))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(drop)

    def main_path(self) -> list[tuple[str, nn.Module]]:
        return [("block", self.block)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out) + self.shortcut_input(x)
        return out


class EfficientNet(PPPModel):
    """``features`` / ``avgpool`` / ``classifier`` as torchvision; LoIs: stages 2, 3, 5, 7
    (``features.2``, ``.3``, ``.5``, ``.7``; paper Fig. 7).

    ``squeeze_excitation=False`` drops the SE blocks: their global pool sees the border,
    so only without them is the twin exact in the interior (used by the tests). The
    ``features`` Sequential is ``child("features")`` (``features`` is the LoI method).
    """

    def __init__(
        self,
        arch: str = "efficientnet_b0",
        padding: str = "zeros",
        num_classes: int = 1000,
        width: float = 1.0,
        squeeze_excitation: bool = True,
        dropout: float = 0.2,
        stochastic_depth_prob: float = 0.2,
        init: str = "torchvision",
    ) -> None:
        super().__init__()
        self.config = dict(arch=arch, padding=padding, num_classes=num_classes, width=width,
                           squeeze_excitation=squeeze_excitation, init=init)
        stages = [(e, k, s, make_divisible(i * width), make_divisible(o * width), n) for e, k, s, i, o, n in B0_STAGES]
        # The stem's SiLU is owned by the first depthwise conv (conv-norm-pad-act).
        layers: list[nn.Module] = [conv_norm(3, stages[0][3], 3, 2, scheme=padding, act=False, deferred_act=False)]
        total = sum(n for *_, n in stages)
        block_id = 0
        for e, k, s, i, o, n in stages:
            blocks = []
            for j in range(n):
                blocks.append(
                    MBConv(e, k, s if j == 0 else 1, i if j == 0 else o, o, stochastic_depth_prob * block_id / total,
                           scheme=padding, squeeze_excitation=squeeze_excitation, input_deferred=block_id == 0)
                )
                block_id += 1
            layers.append(nn.Sequential(*blocks))
        last_in = stages[-1][4]
        layers.append(conv_norm(last_in, 4 * last_in, 1, scheme=padding, act=True, deferred_act=False))
        self.set_child("features", nn.Sequential(*layers))  # torchvision's keys; ``self.features`` is the LoI method
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * last_in, num_classes))
        self.loi = {f"stage{i}": f"features.{i}" for i in (2, 3, 5, 7)}
        self.trunk = ("features",)
        init_weights(self, linear=init_linear, init=init)



def efficientnet_b0(
    *,
    padding: str = "zeros",
    num_classes: int = 1000,
    width: float = 1.0,
    squeeze_excitation: bool = True,
    dropout: float = 0.2,
    stochastic_depth_prob: float = 0.2,
    init: str = "torchvision",
) -> EfficientNet:
    """EfficientNet-B0 with ``padding`` everywhere; ``squeeze_excitation=False`` drops its SE blocks."""
    return EfficientNet("efficientnet_b0", padding, num_classes, width, squeeze_excitation, dropout,
                        stochastic_depth_prob, init)
