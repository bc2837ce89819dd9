"""``train.data`` config -> (training set, validation set, number of classes) for a task.

Procedural sets (the tiny default) are generated from fixed seeds (0 train, 1 val), so
every run sees the same images; ``imagefolder`` and ``duts`` read the real data sets.
"""

from __future__ import annotations

from typing import Any, Mapping

from torch.utils.data import Dataset

DEFAULTS = {
    "classification": {"source": "procedural", "train_dir": "train", "val_dir": "val"},
    "saliency": {"source": "procedural"},
}


def training_sets(task: str, train_cfg: Mapping[str, Any]) -> tuple[Dataset, Dataset, int]:
    """The data of ``task`` described by the ``train`` config section (``data``,
    ``image_size``, and for procedural sets ``n_train``/``n_val``); ``num_classes`` is 1
    for saliency."""
    if task not in DEFAULTS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(DEFAULTS)}")
    spec = {**DEFAULTS[task], **((train_cfg.get("data") or {}).get(task) or {})}
    size = train_cfg.get("image_size", 64)
    n_train, n_val = train_cfg.get("n_train", 2000), train_cfg.get("n_val", 500)
    source = spec["source"]
    if source != "procedural" and not spec.get("root"):
        raise ValueError(f"train.data.{task}.root is required for source {source!r}")
    if task == "classification":
        if source == "procedural":
            from .procedural import ObjectShapes

            num_classes = train_cfg.get("num_classes", 10)
            return ObjectShapes(n_train, size, num_classes, seed=0), ObjectShapes(n_val, size, num_classes, seed=1), num_classes
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
