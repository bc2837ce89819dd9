"""BatchNorm statistics for measurement: ``as_saved`` or ``calibrated`` on training images.

A checkpoint saved at initialisation carries a fresh BatchNorm's running statistics (mean 0,
var 1), so in eval mode its features have whatever scale the random weights give them:
for a BN VGG19 at width 1/8 mean |A| at LoI 4 is ~0.05 at init and ~0.3 trained. A trend
in MAE-PPP between such checkpoints is then a trend in the features' scale. ``calibrated``
re-estimates every BatchNorm's running statistics on a fixed set of training images before
measuring, at every checkpoint alike, so init and trained are normalised the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..alignment import input_size_for
from ..images import normalize
from ..models.base import PPPModel, calibrate_batchnorm
from .config import with_defaults
from .data.training_sets import training_sets

BN_STATS = ("as_saved", "calibrated")


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def calibration_images(task: str, train_cfg: Mapping[str, Any], n_images: int, seed: int = 0) -> tuple[torch.Tensor, str]:
    """``n_images`` training images of ``task`` (N x 3 x S x S in [0, 1]) and where they came
    from. Procedural sets: their first ``n_images`` (item i depends only on the set's seed
    and i, so nothing else is generated); real data sets: a subset drawn with ``seed``."""
    recipe = with_defaults({k: v for k, v in train_cfg.items() if k in ("image_size", "n_train", "n_val")}, "train")
    source = with_defaults((train_cfg.get("data") or {}).get(task), f"train.data.{task}")["source"]
    if source == "procedural":
        train_set, _, _ = training_sets(task, {**train_cfg, "n_train": n_images, "n_val": 1})
        indices = list(range(len(train_set)))
        origin = f"the first {n_images} images of the procedural {task} training set ({recipe['image_size']} px)"
    else:
        train_set, _, _ = training_sets(task, train_cfg)
        if n_images > len(train_set):
            raise ValueError(f"ppp.calibration_images is {n_images}, but the {task} training set has {len(train_set)} images")
        indices = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(seed))[:n_images].tolist()
        origin = f"{n_images} images of the {source} {task} training set drawn with seed {seed}"
    return torch.stack([train_set[i][0] for i in indices]), origin


def calibrate(model: PPPModel, images: torch.Tensor, image_size: int, batch_size: int = 32) -> dict[str, Any]:
    """Re-estimate ``model``'s BatchNorm statistics on ``images`` (as training saw them: the
    input size the model trains at, ImageNet-normalised); returns what the JSON records."""
    size = input_size_for(model, image_size)
    if size != images.shape[-1]:  # padding none trains on the images resized up (data/resized.py)
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True).clamp_(0, 1)
    device = next(model.parameters()).device
    calibrate_batchnorm(model, (normalize(images[i : i + batch_size].to(device)) for i in range(0, len(images), batch_size)))
    return {"bn_stats": "calibrated", "calibration_images": len(images), "calibration_size": size}


def bn_calibrator(bn_stats: str, task: str, train_cfg: Mapping[str, Any], n_images: int, seed: int = 0):
    """The ``calibrate`` hook of :func:`pppcore.extract.extract_ppp` for a ``ppp.bn_stats``
    setting: None for ``as_saved``; else a function of the loaded model that calibrates
    it (models without BatchNorm are left as they are) and returns the JSON record."""
    if bn_stats not in BN_STATS:
        raise ValueError(f"ppp.bn_stats must be one of {', '.join(BN_STATS)}, got {bn_stats!r}")
    if bn_stats == "as_saved":
        return None
    image_size = with_defaults({k: v for k, v in train_cfg.items() if k == "image_size"}, "train")["image_size"]

    def hook(model: PPPModel) -> dict[str, Any]:
        if not has_batchnorm(model):
            return {"bn_stats": "as_saved", "why": "the model has no BatchNorm"}
        images, origin = calibration_images(task, train_cfg, n_images, seed)
        return {**calibrate(model, images, image_size), "calibration_source": origin}

    return hook
