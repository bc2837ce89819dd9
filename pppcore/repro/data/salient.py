"""Seeded procedural salient-object detection: image + binary mask, the tiny stand-in for DUTS.

Like DUTS, each image holds one dominant object, mostly near the centre but not always,
on a cluttered background; the target is the object's pixel mask. Objects are the shapes
of :mod:`pppcore.data.procedural`, larger (a quarter to a half of the image) and with a
wider spread of positions, so a model must segment by appearance, not by a fixed prior.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset

from .procedural import SHAPES, paint_shape, texture


def make_salient_image(size: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One (3 x size x size image in [0, 1], 1 x size x size {0, 1} mask) drawn with ``gen``."""
    img = texture(size, gen)
    kind = SHAPES[int(torch.randint(len(SHAPES), (1,), generator=gen))]
    scale = size * (0.14 + 0.12 * float(torch.rand(1, generator=gen)))
    centre = (size - 1) / 2 + size * 0.2 * (torch.rand(2, generator=gen) * 2 - 1)
    angle = float(torch.rand(1, generator=gen)) * math.pi
    mask = paint_shape(img, kind, centre, scale, angle, gen)
    return img, mask[None].float()


class SalientObjects(Dataset):
    """``n`` seeded (image, mask) pairs, made once, held in memory; item ``i`` depends only
    on (``seed``, ``i``)."""

    def __init__(self, n: int, size: int = 64, seed: int = 0) -> None:
        images, masks = [], []
        for i in range(n):
            img, mask = make_salient_image(size, torch.Generator().manual_seed(seed * 1_000_003 + i))
            images.append(img)
            masks.append(mask)
        self.images = torch.stack(images) if images else torch.empty(0, 3, size, size)
        self.masks = torch.stack(masks) if masks else torch.empty(0, 1, size, size)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.masks[i]
