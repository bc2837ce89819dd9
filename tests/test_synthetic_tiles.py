"""Synthetic satellite-like mosaics: deterministic, in range, structured at several scales."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from pppcore.repro.data.manifest import verify_manifest
from pppcore.repro.data.synthetic_tiles import synthetic_mosaics, write_synthetic_mosaics


def test_deterministic_per_seed_and_index():
    a, b = list(synthetic_mosaics(3, 96, seed=7)), list(synthetic_mosaics(3, 96, seed=7))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert torch.equal(next(synthetic_mosaics(1, 96, seed=7)), a[0])  # mosaic i does not depend on n
    c = next(synthetic_mosaics(1, 96, seed=8))
    assert not torch.equal(a[0], c) and not torch.equal(a[0], a[1])


def test_range_and_shape():
    for img in synthetic_mosaics(2, 128, seed=0):
        assert img.shape == (3, 128, 128) and img.dtype == torch.float32
        assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0 and torch.isfinite(img).all()
    with pytest.raises(ValueError, match="seed"):
        next(synthetic_mosaics(1, 64, seed=-1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_structure_at_several_scales(seed):
    for img in synthetic_mosaics(2, 128, seed=seed):
        grey = img.mean(0)[None, None]
        for factor in (4, 16):  # coarse structure: fields, river
            assert float(F.avg_pool2d(grey, factor).std()) > 0.03, factor
        blur = F.avg_pool2d(grey, 3, 1, 1, count_include_pad=False)
        assert float((grey - blur).abs().mean()) > 0.01  # fine texture, edges
        r, g, b = img
        assert float((b > r + 0.05).float().mean()) > 0.005  # some water
        assert float((g > b + 0.05).float().mean()) > 0.2  # mostly vegetation / soil


def test_write_with_manifest(tmp_path):
    manifest = write_synthetic_mosaics(tmp_path, 2, 64, seed=3)
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert manifest["source"] == "synthetic" and manifest["seed"] == 3
    assert [m["file"] for m in manifest["mosaics"]] == ["synthetic_0000.png", "synthetic_0001.png"]
    assert verify_manifest(tmp_path) == manifest
    first = next(synthetic_mosaics(1, 64, seed=3)).permute(1, 2, 0).numpy()
    png = np.asarray(Image.open(tmp_path / "synthetic_0000.png").convert("RGB")) / 255.0
    assert png.shape == (64, 64, 3) and np.abs(png - first).max() <= 0.5 / 255 + 1e-6
    again = tmp_path / "again"
    assert write_synthetic_mosaics(again, 2, 64, seed=3)["mosaics"] == manifest["mosaics"]  # same bytes
    assert not list(tmp_path.rglob("*.tmp"))
