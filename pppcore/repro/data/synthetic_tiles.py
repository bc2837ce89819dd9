"""Seeded satellite-like mosaics: the offline stand-in for downloaded tiles (``source: synthetic``).

PPP is measured on content with structure at every scale and edges in every direction, as
aerial imagery has; plain noise would under-represent long straight edges (roads, field
borders) and large flat-ish regions (water) that interact with padding differently. Each
mosaic is drawn from its own ``(seed, index)`` stream, so mosaic i does not depend on n.
Everything is vectorised numpy; the only Python loops are over objects (fields, roads,
buildings), never pixels.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ...io import write_bytes
from .manifest import write_manifest
from .tiles import png_bytes

# Earthy field colours (RGB in [0, 1]): forests, meadows, crops, straw, ploughed soil.
_FIELD_COLOURS = np.array([
    (0.16, 0.25, 0.13), (0.24, 0.34, 0.18), (0.35, 0.45, 0.22), (0.50, 0.55, 0.30),
    (0.63, 0.57, 0.38), (0.72, 0.66, 0.48), (0.49, 0.39, 0.27), (0.37, 0.30, 0.22),
], dtype=np.float32)
_ROOF_COLOURS = np.array([
    (0.85, 0.84, 0.80), (0.72, 0.70, 0.68), (0.62, 0.33, 0.26), (0.30, 0.30, 0.32), (0.55, 0.50, 0.45),
], dtype=np.float32)
_WATER = np.array((0.11, 0.20, 0.26), dtype=np.float32)
_BANK = np.array((0.42, 0.40, 0.30), dtype=np.float32)


def synthetic_mosaics(n: int, size: int, seed: int = 0) -> Iterator[torch.Tensor]:
    """``n`` mosaics as float32 tensors 3 x size x size in [0, 1], made one at a time.

    Same ``(seed, n, size)`` -> identical values; ``seed`` must be >= 0.
    """
    if n < 0 or size < 16 or seed < 0:
        raise ValueError(f"need n >= 0, size >= 16 and seed >= 0 (got n={n}, size={size}, seed={seed})")
    for i in range(n):
        img = _mosaic(np.random.default_rng([seed, i]), size)
        yield torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def write_synthetic_mosaics(out_dir: str | os.PathLike, n: int, size: int, seed: int = 0) -> dict[str, Any]:
    """Write ``synthetic_<i>.png`` (RGB, 8 bit) atomically and a ``manifest.json`` like :func:`build_mosaics`'s."""
    out_dir, entries = Path(out_dir), []
    for i, img in enumerate(synthetic_mosaics(n, size, seed)):
        arr = (img.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
        data, name = png_bytes(Image.fromarray(arr, "RGB")), f"synthetic_{i:04d}.png"
        write_bytes(out_dir / name, data)
        entries.append({"file": name, "width": size, "height": size, "index": i,
                        "sha256": hashlib.sha256(data).hexdigest()})
    return write_manifest(out_dir, entries, source="synthetic", seed=seed)


# --------------------------------------------------------------------------- drawing


def _value_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth noise (size x size, ~unit variance) from a ``cells``-grid, smoothstep-interpolated."""
    grid = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    t = np.arange(size, dtype=np.float32) * (cells / size)
    i = t.astype(np.int64)
    f = t - np.floor(t)  # float32 (t - i would promote to float64)
    f = f * f * (3 - 2 * f)
    rows = grid[i] * (1 - f)[:, None] + grid[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None] + rows[:, i + 1] * f[None]


def _fbm(rng: np.random.Generator, size: int, first: int = 4) -> np.ndarray:
    """Sum of octaves from ``first`` cells to size/2 cells, amplitude ~ 1/sqrt(cells): texture at every scale."""
    out, cells = np.zeros((size, size), np.float32), first
    while cells <= size // 2:
        out += _value_noise(rng, size, cells) * (first / cells) ** 0.5
        cells *= 2
    return out / (out.std() + 1e-6)


def _frame(x: np.ndarray, y: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates along and across direction ``angle``."""
    c, s = float(np.cos(angle)), float(np.sin(angle))  # Python floats keep float32 arrays float32
    return x * c + y * s, -x * s + y * c


def _curve_distance(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, bend: float) -> np.ndarray:
    """Distance (unit coords) to a random gently curving line through the image."""
    along, across = _frame(x - 0.5, y - 0.5, rng.uniform(0, np.pi))
    centre = rng.uniform(-0.3, 0.3) + rng.uniform(-bend, bend) * along**2
    for _ in range(2):
        centre = centre + rng.uniform(0, bend / 2) * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * along
                                                            + rng.uniform(0, 2 * np.pi))
    return np.abs(across - centre)


def _fields(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Patchwork of polygonal fields (anisotropic Voronoi cells, warped edges) with crop-row texture."""
    along, across = _frame(x, y, rng.uniform(0, np.pi))
    along = along + 0.02 * _value_noise(rng, size, 4)
    across = across + 0.02 * _value_noise(rng, size, 4)
    k = int(rng.integers(20, 45))
    seeds = rng.uniform(-0.8, 1.5, (k, 2)).tolist()
    stretch = rng.uniform(1.0, 2.5)
    across *= stretch
    best = np.full(x.shape, np.inf, np.float32)
    label = np.zeros(x.shape, np.int8)
    d, closer = np.empty_like(best), np.empty(x.shape, bool)
    for j, (u, v) in enumerate(seeds):  # nearest seed, in place: O(size^2) memory whatever k
        np.square(along - u, out=d)
        d += np.square(across - v * stretch)
        np.less(d, best, out=closer)
        np.minimum(d, best, out=best)
        np.copyto(label, j, where=closer)
    label = label.astype(np.intp)
    colour = (_FIELD_COLOURS[rng.integers(0, len(_FIELD_COLOURS), k)]
              + rng.uniform(-0.04, 0.04, (k, 3)).astype(np.float32))
    # crop rows: a sinusoid per field (period 3-10 px); grain: fine noise, strong in forests
    angle = rng.uniform(0, np.pi, k)
    fx, fy = (2 * np.pi * rng.uniform(size / 10, size / 3, k)
              * np.stack([np.cos(angle), np.sin(angle)])).astype(np.float32)
    amp = (rng.uniform(0.0, 0.08, k) * (rng.random(k) < 0.7)).astype(np.float32)
    grain = (rng.uniform(0.02, 0.1, k) + 0.15 * (colour[:, 1] < 0.27)).astype(np.float32)
    texture = amp[label] * np.sin(fx[label] * x + fy[label] * y) + grain[label] * _value_noise(rng, size, size // 3)
    img = colour[label] * (1.0 + texture)[..., None]
    edge = np.zeros(x.shape, bool)  # hedgerows / tracks between fields
    edge[1:] |= label[1:] != label[:-1]
    edge[:, 1:] |= label[:, 1:] != label[:, :-1]
    img[edge] *= 0.75
    return img


def _buildings(rng: np.random.Generator, img: np.ndarray, water: np.ndarray) -> None:
    """A few clusters of small rotated rectangles (roofs) with cast shadows, painted in place."""
    size = img.shape[0]
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = rng.uniform(0.1, 0.9, 2) * size
        spread, theta = rng.uniform(0.03, 0.08) * size, rng.uniform(0, np.pi)
        c, s = np.cos(theta), np.sin(theta)
        for _ in range(int(rng.integers(8, 36))):
            bx, by = cx + rng.normal(0, spread), cy + rng.normal(0, spread)
            hx, hy = rng.uniform(1.5, 6.0, 2)
            r = int(np.ceil(np.hypot(hx, hy))) + 3
            x0, y0 = int(bx) - r, int(by) - r
            if x0 < 0 or y0 < 0 or x0 + 2 * r >= size or y0 + 2 * r >= size or water[int(by), int(bx)] > 0.1:
                continue
            yy, xx = np.mgrid[y0 : y0 + 2 * r, x0 : x0 + 2 * r].astype(np.float32)
            roof = rng.choice(len(_ROOF_COLOURS))
            for off, colour in ((1.5, None), (0.0, _ROOF_COLOURS[roof])):  # shadow first, then roof
                u, v = (xx - bx - off) * c + (yy - by - off) * s, -(xx - bx - off) * s + (yy - by - off) * c
                mask = (np.abs(u) <= hx) & (np.abs(v) <= hy)
                window = img[y0 : y0 + 2 * r, x0 : x0 + 2 * r]
                window[mask] = window[mask] * 0.45 if colour is None else colour + rng.uniform(-0.03, 0.03)


def _mosaic(rng: np.random.Generator, size: int) -> np.ndarray:
    """One size x size x 3 float32 image in [0, 1]."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = _fields(rng, x, y, size)
    # river: a wide curve with soft banks
    dist = _curve_distance(rng, x, y, bend=0.4) * size
    half = rng.uniform(0.012, 0.03) * size
    water = np.clip(half - dist + 0.5, 0, 1)[..., None]
    bank = np.clip(half + 0.006 * size - dist + 0.5, 0, 1)[..., None] * (1 - water)
    ripple = 1.0 + 0.06 * _value_noise(rng, size, max(4, size // 16))[..., None]
    img = img * (1 - water - bank) + _WATER * ripple * water + _BANK * bank
    # roads: thin grey lines, straight or gently curving, antialiased
    for _ in range(int(rng.integers(2, 5))):
        dist = _curve_distance(rng, x, y, bend=rng.choice([0.0, 0.3])) * size
        alpha = np.clip(rng.uniform(0.7, 1.8) - dist + 0.5, 0, 1)[..., None]
        img = img * (1 - alpha) + rng.uniform(0.5, 0.7) * alpha
    _buildings(rng, img, water[..., 0])
    # multi-scale brightness texture, then sensor noise
    img *= (1.0 + 0.08 * _fbm(rng, size, first=8))[..., None]
    img += 0.015 * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(img, 0.0, 1.0).astype(np.float32)
