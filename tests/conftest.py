"""Shared helpers: CPU-size widths and the interior/circular checks used by several tests."""

from __future__ import annotations

import pytest
import torch

from pppcore import align, build_model, make_twin
from pppcore.models.base import calibrate_batchnorm

# Widths small enough for a 2-core CPU; the geometry does not depend on them.
WIDTHS = {"vgg16": 0.125, "vgg19": 0.125, "resnet50": 0.125, "efficientnet_b0": 0.25}
MEASURED_ARCHS = ("vgg19", "resnet50", "efficientnet_b0")
PADDED = ("zeros", "circular", "reflect", "replicate", "randn")


def small_model(arch: str, padding: str = "zeros", calibrate: bool = True, **kwargs):
    """A CPU-width model in eval mode. ``calibrate`` sets BatchNorm statistics from a few
    random batches, as training would: with the init statistics (mean 0, var 1) deep
    EfficientNet features shrink to ~1e-10 and every comparison drowns in rounding."""
    model = build_model(arch, padding, num_classes=10, width=WIDTHS[arch], **kwargs)
    if calibrate and padding != "none":  # a padless net needs big inputs; not worth it here
        calibrate_batchnorm(model, (torch.rand(4, 3, 96, 96, generator=torch.Generator().manual_seed(s)) for s in range(2)))
    return model.eval()


def paired_features(model, size: int, big_image: torch.Tensor, alignment=None):
    """Regular features on the regular crop and raw twin features on the big crop."""
    alignment = alignment or align(model, size)
    twin = make_twin(model, alignment).eval()
    with torch.no_grad():
        regular = model.features(alignment.regular_crop(big_image))
        twin_feats = twin.features(big_image)
    return alignment, regular, twin_feats


def shifted_diff(o: torch.Tensor, a: torch.Tensor, top: int, left: int, dy: int = 0, dx: int = 0) -> torch.Tensor:
    """|O - A| where A[i, j] is compared with O[top + dy + i, left + dx + j], on the overlap."""
    h, w = a.shape[-2:]
    rows = [i for i in range(h) if 0 <= top + dy + i < o.shape[-2]]
    cols = [j for j in range(w) if 0 <= left + dx + j < o.shape[-1]]
    a_part = a[..., rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    o_part = o[..., top + dy + rows[0] : top + dy + rows[-1] + 1, left + dx + cols[0] : left + dx + cols[-1] + 1]
    return (o_part - a_part).abs()


def tolerance(a: torch.Tensor) -> float:
    """Float32 rounding scale of a feature map."""
    return 1e-4 * float(a.abs().max()) + 1e-30


def write_images(folder, n: int, size: int, seed: int, prefix: str = "tile_"):
    """``n`` procedural PNG images of ``size`` px in a new ``folder``."""
    import numpy as np
    from PIL import Image

    from pppcore.repro.data.synthetic import synthetic_images

    folder.mkdir(parents=True)
    for i, img in enumerate(synthetic_images(n, size, seed=seed)):
        Image.fromarray((img.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(folder / f"{prefix}{i}.png")
    return folder


@pytest.fixture(scope="session")
def rng():
    return torch.Generator().manual_seed(1234)
