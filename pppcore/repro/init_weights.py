"""Start training from a weights file: the convolutional trunk of a torchvision-format state dict.

The paper's footnote 2 (PiCANet's protocol): VGG16-SOD starts from an ImageNet VGG16. Our
VGG trunk (:func:`pppcore.models.vgg.make_features`, shared by the classifier and the
saliency model) keeps torchvision's ``features.<i>`` keys and shapes, with or without
BatchNorm, so torchvision's ``vgg16`` / ``vgg16_bn`` files load key for key; the head
(classifier or saliency decoder) keeps its own initialisation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..io import sha256_file

TRUNK_PREFIX = "features."
# BatchNorm's step counter: absent from files written before PyTorch 0.4.1 (torchvision's
# VGG *_bn files among them) and unused by training in train mode with momentum set.
OPTIONAL_SUFFIXES = (".num_batches_tracked",)


def _state_dict(blob: Any, where: str) -> dict[str, torch.Tensor]:
    if isinstance(blob, dict):
        for entry in ("state_dict", "model"):
            if isinstance(blob.get(entry), dict):
                blob = blob[entry]
                break
    if not isinstance(blob, dict):
        raise ValueError(f"{where}: holds a {type(blob).__name__}, not a state dict")
    return blob


def load_trunk(model: torch.nn.Module, path: str | os.PathLike,
               key: str = "train.archs.<arch>.init_weights") -> dict[str, Any]:
    """Copy the ``features.*`` tensors of the state dict in ``path`` into ``model`` (same names
    and shapes; relative paths from the working directory). Accepts a raw state dict or one
    under ``state_dict`` / ``model``. Every ``features.*`` key of the model must be in the file
    (a missing BatchNorm ``num_batches_tracked`` keeps the model's), and the file may hold
    no ``features.*`` key the model lacks. Errors name ``key`` (the config key) and the file.

    Returns ``{"path", "sha256" (of the file's bytes), "keys" (tensors loaded)}``."""
    path = Path(path)
    where = f"{key} = {str(path)!r}"
    if not path.is_file():
        raise FileNotFoundError(f"{where}: no such file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, not a torch file, pickled objects, ...
        raise ValueError(f"{where}: cannot be read as a state dict ({err})") from err
    source = {k: v for k, v in _state_dict(blob, where).items() if k.startswith(TRUNK_PREFIX)}
    target = model.state_dict()
    trunk = [k for k in target if k.startswith(TRUNK_PREFIX)]
    if not trunk:
        arch = getattr(model, "arch", type(model).__name__)
        raise ValueError(f"{where}: {arch} has no {TRUNK_PREFIX}* trunk to load (VGGs only)")
    if missing := [k for k in trunk if k not in source and not k.endswith(OPTIONAL_SUFFIXES)]:
        raise ValueError(f"{where}: the file lacks trunk key {missing[0]!r} ({len(missing)} missing); "
                         "another arch or batch_norm setting?")
    if unexpected := [k for k in source if k not in target]:
        raise ValueError(f"{where}: the file's key {unexpected[0]!r} is not in the model "
                         f"({len(unexpected)} unexpected); another arch or batch_norm setting?")
    for k, value in source.items():
        if not torch.is_tensor(value):
            raise ValueError(f"{where}: {k!r} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != tuple(target[k].shape):
            raise ValueError(f"{where}: {k!r} has shape {tuple(value.shape)} in the file but {tuple(target[k].shape)} "
                             "in the model; another width?")
    with torch.no_grad():
        for k, value in source.items():
            target[k].copy_(value)  # state_dict tensors share storage with the parameters and buffers
    return {"path": str(path), "sha256": sha256_file(path), "keys": len(source)}
