"""Model builders: one per architecture, selected by name in :func:`build_model`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..padding import check_padding, seed_randn
from .base import INITS, PPPModel, check_init
from .efficientnet import EfficientNet, efficientnet_b0
from .resnet import ResNet, resnet50
from .saliency import SaliencyVGG, saliency_vgg16, saliency_vgg19
from .vgg import VGG, vgg16, vgg19

BUILDERS: dict[str, Callable[..., PPPModel]] = {
    "vgg16": vgg16,
    "vgg19": vgg19,
    "resnet50": resnet50,
    "efficientnet_b0": efficientnet_b0,
}
ARCHS: tuple[str, ...] = tuple(BUILDERS)
# task -> arch -> builder; saliency models share the classifier's trunk (models/saliency.py).
TASK_BUILDERS: dict[str, dict[str, Callable[..., PPPModel]]] = {
    "classification": BUILDERS,
    "saliency": {"vgg16": saliency_vgg16, "vgg19": saliency_vgg19},
}
TASKS: tuple[str, ...] = tuple(TASK_BUILDERS)


def build_model(
    arch: str,
    padding: str = "zeros",
    num_classes: int = 1000,
    width: float = 1.0,
    seed: int | None = 0,
    task: str = "classification",
    init: str = "torchvision",
    **kwargs: Any,
) -> PPPModel:
    """Build ``arch`` with ``padding`` everywhere; ``width`` scales every channel count.

    ``seed`` fixes the initial weights and the ``randn`` pad streams (``None``: global RNG).
    Extra keyword arguments go to the family (``batch_norm`` for VGG,
    ``squeeze_excitation`` for EfficientNet). ``task="saliency"`` builds the same trunk
    with a 1-channel mask head (``num_classes`` is then ignored). ``init``: ``torchvision``
    (the family's re-initialisation) or ``pytorch_default`` (PyTorch's layer defaults, no
    re-init); see :data:`pppcore.models.base.INITS`.
    """
    if task not in TASK_BUILDERS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}")
    builders = TASK_BUILDERS[task]
    if arch not in builders:
        raise ValueError(f"unknown arch {arch!r} for task {task}; allowed: {', '.join(builders)}")
    check_padding(padding)
    check_init(init)
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        if task == "classification":
            kwargs["num_classes"] = num_classes
        model = builders[arch](padding=padding, width=width, init=init, **kwargs)
    seed_randn(model, 0 if seed is None else seed)
    return model


__all__ = [
    "ARCHS", "BUILDERS", "INITS", "TASKS", "EfficientNet", "PPPModel", "ResNet", "SaliencyVGG", "VGG", "build_model",
]
