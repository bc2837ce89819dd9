"""The BHV test's network: four 3 x 3 convs under a padding and conv type, global max pool, linear.
The protocol, its data, network, training and metrics: docs/protocols.md (BHV)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...models.layers import PadConv2d
from ...padding import check_padding, seed_randn
from ..grid import BHV_CONV_TYPES as CONV_TYPES, BHV_VALID as VALID, bhv_nets

KERNEL = 3
variants = bhv_nets  # (padding, conv type) of every network of Table 1


def pad_amount(padding: str, conv_type: str) -> int:
    """Pixels per side: k // 2 for same-conv, k - 1 for F-Conv, 0 without padding."""
    check_padding(padding)
    if padding == "none":
        if conv_type != VALID:
            raise ValueError(f"padding 'none' goes with conv type {VALID!r}, got {conv_type!r}")
        return 0
    if conv_type not in CONV_TYPES:
        raise ValueError(f"unknown conv type {conv_type!r} for padding {padding!r}; allowed: {', '.join(CONV_TYPES)}")
    return KERNEL // 2 if conv_type == "same" else KERNEL - 1


class BHVNet(nn.Module):
    """The four-conv classifier of the BHV test (docs/protocols.md)."""

    def __init__(self, padding: str, conv_type: str, seed: int = 0) -> None:
        super().__init__()
        amount = pad_amount(padding, conv_type)
        self.padding, self.conv_type = padding, conv_type
        widths, strides = (3, 32, 32, 64, 64), (1, 2, 2, 2)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.convs = nn.Sequential(*(
                PadConv2d(widths[i], widths[i + 1], KERNEL, strides[i], amount, bias=False,
                          scheme=padding if amount else "none", act=nn.ReLU() if i else None)
                for i in range(4)
            ))
            self.fc = nn.Linear(widths[-1], 2)
        seed_randn(self, seed)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv's ReLU map, before the global max pool (F-Conv: it grows)."""
        return F.relu(self.convs(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.amax(self.features(x), dim=(-2, -1)))
