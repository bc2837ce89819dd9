"""Training data at another resolution, for models that cannot see the configured size.

A ``none``-padded network shrinks every map by its kernels' reach, so at 64 px (or even
224 px, for ResNet50 and EfficientNet-B0) nothing is left by the last LoI. Such a model is
trained on the same images resized to its smallest valid input (``min_input_size``):
same content and labels, more pixels. Table 2's no-padding rows are trained this way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


class Resized(Dataset):
    """``dataset`` with every image resized to ``size`` x ``size`` (bilinear, antialiased).

    Tensor targets of image shape (saliency masks) are resized too, nearest-neighbour so
    they stay binary; class labels pass through. Resized items are kept in memory, up to
    ``cache_bytes`` of images (the base sets are fixed per index, so every epoch would redo
    the same resize: 64 -> 268 px costs ~7 ms an image on one core, the same per item as
    per batch; benchmarks/results/resize_cache.csv).
    """

    def __init__(self, dataset: Dataset, size: int, cache_bytes: int = 2 << 30) -> None:
        self.dataset, self.size = dataset, size
        self.cache_items = cache_bytes // (3 * size * size * 4)
        self._cache: dict[int, tuple] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        index = int(index)
        item = self._cache.get(index)
        if item is None:
            item = self._resize(*self.dataset[index])
            if len(self._cache) >= self.cache_items:
                return item
            self._cache[index] = item
        x, y = item
        return x.clone(), (y.clone() if torch.is_tensor(y) else y)  # the caller owns its copy

    def _resize(self, x, y):
        x = F.interpolate(x[None], size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)[0]
        if isinstance(y, torch.Tensor) and y.dim() >= 2:
            resized = F.interpolate(y.reshape(1, -1, *y.shape[-2:]).float(), size=(self.size, self.size),
                                    mode="nearest")
            y = resized.reshape(*y.shape[:-2], self.size, self.size).to(y.dtype)
        return x.clamp_(0, 1), y
