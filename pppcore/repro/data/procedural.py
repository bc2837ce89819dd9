"""Seeded procedural training data: object-centric classification at CPU scale.

Like ImageNet photos, each image shows one object near the centre on a textured
background; the class is the object's shape (its colour and size are random), so a
network must look at the object, and position cues are what PPP can encode.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset

from .synthetic import multiscale_noise

SHAPES: tuple[str, ...] = ("disk", "square", "triangle", "plus", "ring", "hbar", "vbar", "diamond", "cross", "dots")


def shape_mask(kind: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Boolean mask of ``kind`` in object coordinates (u, v in [-1, 1] span the object)."""
    r = torch.sqrt(u**2 + v**2)
    if kind == "disk":
        return r <= 1
    if kind == "square":
        return (u.abs() <= 0.8) & (v.abs() <= 0.8)
    if kind == "triangle":
        return (v <= 0.8) & (v >= 2 * u.abs() - 1)
    if kind == "plus":
        return ((u.abs() <= 0.3) & (v.abs() <= 1)) | ((v.abs() <= 0.3) & (u.abs() <= 1))
    if kind == "ring":
        return (r <= 1) & (r >= 0.55)
    if kind == "hbar":
        return (u.abs() <= 1) & (v.abs() <= 0.35)
    if kind == "vbar":
        return (v.abs() <= 1) & (u.abs() <= 0.35)
    if kind == "diamond":
        return u.abs() + v.abs() <= 1
    if kind == "cross":
        return (((u - v).abs() <= 0.35) | ((u + v).abs() <= 0.35)) & (r <= 1.3)
    if kind == "dots":
        return (torch.sqrt((u - 0.5) ** 2 + v**2) <= 0.4) | (torch.sqrt((u + 0.5) ** 2 + v**2) <= 0.4)
    raise ValueError(f"unknown shape {kind!r}; allowed: {', '.join(SHAPES)}")


def texture(size: int, gen: torch.Generator) -> torch.Tensor:
    """Earth-toned multi-scale noise, 3 x size x size in [0, 1].

    Clutter amplitude 0.06 (per-channel std ~0.08): at 0.12 the background's edges rivalled
    the object's and a 6-epoch CPU run of VGG19 reached 26-72 % (seed-dependent) instead of
    ~80 %."""
    img = multiscale_noise(size, gen, mode="bilinear")
    base = torch.tensor([0.35, 0.4, 0.25]).view(3, 1, 1) + 0.15 * torch.rand(3, 1, 1, generator=gen)
    return (base + 0.06 * img).clamp(0, 1)


def paint_shape(
    img: torch.Tensor, kind: str, centre: torch.Tensor, scale: float, angle: float, gen: torch.Generator
) -> torch.Tensor:
    """Paint shape ``kind`` onto ``img`` (3 x H x W, in place) in a colour drawn with ``gen``;
    its boolean H x W mask. ``centre`` is (row, column), ``scale`` the object's half-size in
    pixels, ``angle`` its rotation in radians."""
    cy, cx = centre
    rows, cols = (torch.arange(n, dtype=torch.float32) for n in img.shape[-2:])
    ys, xs = torch.meshgrid(rows, cols, indexing="ij")
    dy, dx = (ys - cy) / scale, (xs - cx) / scale
    u = dx * math.cos(angle) + dy * math.sin(angle)
    v = -dx * math.sin(angle) + dy * math.cos(angle)
    mask = shape_mask(kind, u, v)
    colour = torch.rand(3, 1, generator=gen) * 0.8 + 0.2 * (torch.rand(1, generator=gen) > 0.5)
    img[:, mask] = colour.expand(3, int(mask.sum())) * 0.9 + 0.1 * img[:, mask]
    return mask


def make_object_image(label: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """One 3 x size x size image of class ``label`` drawn with ``gen``."""
    img = texture(size, gen)
    scale = size * (0.18 + 0.12 * float(torch.rand(1, generator=gen)))
    centre = (size - 1) / 2 + size * 0.12 * (torch.rand(2, generator=gen) * 2 - 1)
    angle = float(torch.rand(1, generator=gen)) * 0.5 - 0.25
    paint_shape(img, SHAPES[label], centre, scale, angle, gen)
    return img


class ObjectShapes(Dataset):
    """``n`` seeded object-centric images of ``num_classes`` shapes, made once, held in memory.

    Item ``i`` depends only on (``seed``, ``i``): the same set on every machine and run.
    """

    def __init__(self, n: int, size: int = 64, num_classes: int = 10, seed: int = 0) -> None:
        if not 2 <= num_classes <= len(SHAPES):
            raise ValueError(f"num_classes must be in 2..{len(SHAPES)}, got {num_classes}")
        self.labels = torch.arange(n) % num_classes
        images = []
        for i in range(n):
            gen = torch.Generator().manual_seed(seed * 1_000_003 + i)
            images.append(make_object_image(int(self.labels[i]), size, gen))
        self.images = torch.stack(images) if images else torch.empty(0, 3, size, size)
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])
