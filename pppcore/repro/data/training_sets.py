"""``train.data`` config -> (training set, validation set, number of classes) for a task.

Procedural sets (the tiny default) are generated from fixed seeds (0 train, 1 val), so
every run sees the same images; ``imagefolder`` and ``duts`` read the real data sets.
"""

from __future__ import annotations

from torch.utils.data import Dataset

from ..config import TASKS, DataConfig

__all__ = ["TASKS", "training_sets"]


def training_sets(data: DataConfig, image_size: int, n_train: int, n_val: int) -> tuple[Dataset, Dataset, int]:
    """The training and validation sets of ``data`` (its task and source) at ``image_size``
    px, and ``num_classes`` (1 for saliency); ``n_train`` / ``n_val`` size the procedural sets."""
    task, source, size = data.task, data.source, image_size
    if source != "procedural" and not data.root:
        raise ValueError(f"train.data.{task}.root is required for source {source!r}")
    if task == "classification":
        if source == "procedural":
            from .procedural import ObjectShapes

            train_set, val_set = ObjectShapes(n_train, size, seed=0), ObjectShapes(n_val, size, seed=1)
            return train_set, val_set, train_set.num_classes
        if source == "imagefolder":
            from .imagefolder import ImageFolderClassification

            train_set = ImageFolderClassification(data.root, data.train_dir, size)
            val_set = ImageFolderClassification(data.root, data.val_dir, size, classes=train_set.classes)
            return train_set, val_set, train_set.num_classes
        raise ValueError(f"train.data.classification.source must be procedural or imagefolder, got {source!r}")
    if source == "procedural":
        from .salient import SalientObjects

        return SalientObjects(n_train, size, seed=0), SalientObjects(n_val, size, seed=1), 1
    if source == "duts":
        from .imagefolder import DUTS

        return DUTS(data.root, "DUTS-TR", size), DUTS(data.root, "DUTS-TE", size), 1
    raise ValueError(f"train.data.saliency.source must be procedural or duts, got {source!r}")
