"""BatchNorm statistics for measurement: ``as_saved`` or ``calibrated`` on training images.

A checkpoint saved at initialisation carries a fresh BatchNorm's running statistics (mean 0,
var 1), so in eval mode its features have whatever scale the random weights give them:
for a BN VGG19 at width 1/8 mean |A| at LoI 4 is ~0.05 at init and ~0.3 trained. A trend
in MAE-PPP between such checkpoints is then a trend in the features' scale. ``calibrated``
re-estimates every BatchNorm's running statistics on a fixed set of training images before
measuring, at every checkpoint alike, so init and trained are normalised the same way.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..alignment import input_size_for
from ..images import normalize
from ..models.base import PPPModel, calibrate_batchnorm
from .config import BN_STATS, Calibration, PPPConfig
from .data.training_sets import training_sets

__all__ = ["BN_STATS", "bn_calibrator", "calibrate", "calibration_images", "has_batchnorm"]


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def calibration_images(calibration: Calibration, seed: int = 0) -> tuple[torch.Tensor, str]:
    """``calibration.images`` training images of ``calibration.data`` (N x 3 x S x S in [0, 1],
    S = ``calibration.image_size``) and where they came from. Procedural sets: their first
    images (item i depends only on the set's seed and i, so nothing else is generated); real
    data sets: a subset drawn with ``seed``."""
    data, n_images, size = calibration.data, calibration.images, calibration.image_size
    task = data.task
    train_set, _, _ = training_sets(data, size, n_images, 1)  # n_train, n_val: procedural sets only
    if data.source == "procedural":
        indices = list(range(len(train_set)))
        origin = f"the first {n_images} images of the procedural {task} training set ({size} px)"
    else:
        if n_images > len(train_set):
            raise ValueError(f"ppp.calibration_images is {n_images}, but the {task} training set "
                             f"has {len(train_set)} images")
        indices = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(seed))[:n_images].tolist()
        origin = f"{n_images} images of the {data.source} {task} training set drawn with seed {seed}"
    return torch.stack([train_set[i][0] for i in indices]), origin


def calibrate(model: PPPModel, images: torch.Tensor, image_size: int, batch_size: int = 32) -> dict[str, Any]:
    """Re-estimate ``model``'s BatchNorm statistics on ``images`` (as training saw them: the
    input size the model trains at, ImageNet-normalised); returns what the JSON records."""
    size = input_size_for(model, image_size)
    if size != images.shape[-1]:  # padding none trains on the images resized up (data/resized.py)
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                               antialias=True).clamp_(0, 1)
    device = next(model.parameters()).device
    calibrate_batchnorm(model, (normalize(images[i : i + batch_size].to(device))
                                for i in range(0, len(images), batch_size)))
    return {"bn_stats": "calibrated", "calibration_images": len(images), "calibration_size": size}


def bn_calibrator(ppp: PPPConfig, seed: int = 0):
    """The ``calibrate`` hook of :func:`pppcore.ppp.extract_ppp` for ``ppp.bn_stats``: None
    for ``as_saved``; else a function of the loaded model that calibrates it (models without
    BatchNorm are left as they are) and returns the JSON record."""
    calibration = ppp.calibration
    if calibration is None:  # as_saved (PPPConfig holds a calibration exactly when calibrated)
        return None

    def hook(model: PPPModel) -> dict[str, Any]:
        if not has_batchnorm(model):
            return {"bn_stats": "as_saved", "why": "the model has no BatchNorm"}
        images, origin = calibration_images(calibration, seed)
        return {**calibrate(model, images, calibration.image_size), "calibration_source": origin}

    return hook
