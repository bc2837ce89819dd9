"""``train.data`` config -> (training set, validation set, number of classes) for a task.

Procedural sets (the tiny default) are generated from fixed seeds (0 train, 1 val), so
every run sees the same images; ``imagefolder`` and ``duts`` read the real data sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch.utils.data import Dataset

from ..config import with_defaults

TASKS = ("classification", "saliency")


def training_sets(task: str, train_cfg: Mapping[str, Any]) -> tuple[Dataset, Dataset, int]:
    """The data of ``task`` described by the ``train`` config section (``data``,
    ``image_size``, and for procedural sets ``n_train``/``n_val``); ``num_classes`` is 1
    for saliency."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}")
    spec = with_defaults((train_cfg.get("data") or {}).get(task), f"train.data.{task}")
    recipe = with_defaults({k: v for k, v in train_cfg.items() if k in ("image_size", "n_train", "n_val")}, "train")
    size, n_train, n_val = recipe["image_size"], recipe["n_train"], recipe["n_val"]
    source = spec["source"]
    if source != "procedural" and not spec.get("root"):
        raise ValueError(f"train.data.{task}.root is required for source {source!r}")
    if task == "classification":
        if source == "procedural":
            from .procedural import ObjectShapes

            train_set, val_set = ObjectShapes(n_train, size, seed=0), ObjectShapes(n_val, size, seed=1)
            return train_set, val_set, train_set.num_classes
        if source == "imagefolder":
            from .imagefolder import ImageFolderClassification

            train_set = ImageFolderClassification(spec["root"], spec["train_dir"], size)
            val_set = ImageFolderClassification(spec["root"], spec["val_dir"], size, classes=train_set.classes)
            return train_set, val_set, train_set.num_classes
        raise ValueError(f"train.data.classification.source must be procedural or imagefolder, got {source!r}")
    if source == "procedural":
        from .salient import SalientObjects

        return SalientObjects(n_train, size, seed=0), SalientObjects(n_val, size, seed=1), 1
    if source == "duts":
        from .imagefolder import DUTS

        return DUTS(spec["root"], "DUTS-TR", size), DUTS(spec["root"], "DUTS-TE", size), 1
    raise ValueError(f"train.data.saliency.source must be procedural or duts, got {source!r}")
