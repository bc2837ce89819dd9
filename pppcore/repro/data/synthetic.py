"""Seeded procedural images with texture at several scales (an offline stand-in for tiles)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F


def synthetic_images(n: int, size: int, seed: int = 0) -> list[torch.Tensor]:
    """``n`` RGB images (3 x size x size, values in [0, 1]) of multi-scale coloured noise.

    Each image sums smooth noise fields from coarse (2 cells) to fine (size/2 cells)
    scales, so it has structure everywhere and no privileged position: a neutral input.
    """
    return list(iter_synthetic_images(n, size, seed))


def multiscale_noise(size: int, gen: torch.Generator, mode: str = "bicubic") -> torch.Tensor:
    """3 x size x size: random fields of 2, 4, ..., size/2 cells upsampled and summed, each
    weighted by sqrt(2 / cells) (roughly 1/f: coarse structure dominates, fine detail stays)."""
    img = torch.zeros(1, 3, size, size)
    cells = 2
    while cells <= size // 2:
        field = torch.randn(1, 3, cells, cells, generator=gen)
        img += F.interpolate(field, size=(size, size), mode=mode, align_corners=False) * (2.0 / cells) ** 0.5
        cells *= 2
    return img[0]


def iter_synthetic_images(n: int, size: int, seed: int = 0) -> Iterator[torch.Tensor]:
    """The images of :func:`synthetic_images`, made one at a time (constant memory)."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(n):
        img = multiscale_noise(size, gen)
        img = (img - img.mean()) / (img.std() + 1e-8)
        yield torch.sigmoid(img).contiguous()
