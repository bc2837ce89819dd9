"""Per-image aligned feature maps of one channel: what Fig. 1 draws.

PPP is an expectation; a single image's optimally-padded (twin) and algorithmically-padded
(regular) maps differ by image noise as much as by padding. Fig. 1 shows the two surfaces of
one channel and how the mean |O - A| settles into the padding pattern as images are added.
Random crops (seeded) give many samples from a few mosaics.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..alignment import align
from ..images import ImageLike, normalize, to_tensor
from ..metrics import paired_features
from ..models.base import PPPModel
from ..padding import seed_randn
from ..twin import make_twin


@dataclass
class ChannelSurfaces:
    """``twin`` / ``regular``: N x H x W maps of ``channel`` at ``loi`` (aligned pixel for pixel)."""

    loi: str
    channel: int
    twin: np.ndarray
    regular: np.ndarray

    def ppp(self, n: int | None = None) -> np.ndarray:
        """The PPP estimate mean_i |O_i - A_i| over the first ``n`` images (all by default)."""
        return np.abs(self.twin[:n] - self.regular[:n]).mean(0)


def random_crops(images: Sequence[ImageLike], size: tuple[int, int], n: int, seed: int = 0) -> torch.Tensor:
    """``n`` crops of ``size`` at seeded random positions, cycling through ``images``."""
    gen = torch.Generator().manual_seed(seed)
    crops = []
    for i in range(n):
        item = images[i % len(images)]
        name = str(item) if isinstance(item, (str, os.PathLike)) else f"#{i % len(images)}"
        image = to_tensor(item, name)
        h, w = image.shape[-2:]
        if h < size[0] or w < size[1]:
            raise ValueError(f"image {name} is {h}x{w} px but the big crop needs at least {size[0]}x{size[1]} px")
        top = int(torch.randint(0, h - size[0] + 1, (1,), generator=gen))
        left = int(torch.randint(0, w - size[1] + 1, (1,), generator=gen))
        crops.append(image[:, top : top + size[0], left : left + size[1]])
    return torch.stack(crops)


@torch.no_grad()
def channel_surfaces(
    model: PPPModel,
    images: Sequence[ImageLike],
    input_size: int,
    loi_index: int = 3,
    n: int = 64,
    channel: int | None = None,
    batch_size: int = 8,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> ChannelSurfaces:
    """Aligned twin/regular maps at the ``loi_index``-th LoI (1-based) for ``n`` random crops.

    ``channel`` None picks the channel with the largest PPP over the crops (the clearest
    pattern, as a figure should show).
    """
    model = model.to(device).eval()
    alignment = align(model, input_size)
    twin = make_twin(model, alignment).eval()
    seed_randn(model, seed)
    loi = list(model.loi)[loi_index - 1]
    big = random_crops(images, alignment.big_size, n, seed)
    regular, optimal = [], []
    for start in range(0, n, batch_size):
        feats, twin_feats = paired_features(model, twin, alignment,
                                            normalize(big[start : start + batch_size].to(device)))
        regular.append(feats[loi].double().cpu())
        optimal.append(alignment.align_twin(loi, twin_feats[loi]).double().cpu())
    a, o = torch.cat(regular), torch.cat(optimal)
    if channel is None:
        channel = int((o - a).abs().mean((0, 2, 3)).argmax())
    return ChannelSurfaces(loi, channel, o[:, channel].numpy(), a[:, channel].numpy())
