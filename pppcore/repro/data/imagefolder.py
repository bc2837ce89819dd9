"""Real training sets read lazily from disk: ImageFolder classification and DUTS saliency.

Classification (ImageNet-style, ``root/<split>/<class>/<image>``): the shorter side is
resized to ``size`` and the centre ``size`` x ``size`` kept, as torchvision's evaluation
transform does. Saliency (DUTS, ``root/DUTS-TR/DUTS-TR-Image/*.jpg`` with
``root/DUTS-TR/DUTS-TR-Mask/*.png`` of the same stem; ``DUTS-TE`` alike): image and mask
are resized to ``size`` x ``size`` (as PiCANet resizes DUTS to 224 x 224) and the mask is
thresholded at half its range. Layout problems fail at construction with the folder or
file named; a file that cannot be decoded fails when read, with its path.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ...images import IMAGE_SUFFIXES, list_images, load_image

DUTS_SPLITS = ("DUTS-TR", "DUTS-TE")


def _to_tensor(img: Image.Image) -> torch.Tensor:
    array = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(array.reshape(img.height, img.width, -1)).permute(2, 0, 1).contiguous()


def load_center_crop(path: Path, size: int) -> torch.Tensor:
    """3 x size x size in [0, 1]: shorter side resized to ``size``, centre crop."""
    img = load_image(path, "RGB")
    scale = size / min(img.size)
    w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
    img = img.resize((w, h), Image.BILINEAR)
    left, top = (w - size) // 2, (h - size) // 2
    return _to_tensor(img.crop((left, top, left + size, top + size)))


class ImageFolderClassification(Dataset):
    """``root/split/<class>/*`` with classes sorted by name (labels 0..C-1). Pass the
    training split's ``classes`` to the validation split so labels agree."""

    def __init__(self, root: str | os.PathLike, split: str, size: int, classes: list[str] | None = None) -> None:
        self.folder, self.size = Path(root) / split, size
        if not self.folder.is_dir():
            raise FileNotFoundError(f"train.data.classification: folder {self.folder} does not exist "
                                    f"(expected root/{split}/<class>/<images>)")
        found = sorted(p.name for p in self.folder.iterdir() if p.is_dir())
        if not found:
            raise FileNotFoundError(f"train.data.classification: {self.folder} holds no class folders "
                                    f"(expected {self.folder}/<class>/<images>)")
        if classes is not None and found != list(classes):
            missing, extra = sorted(set(classes) - set(found)), sorted(set(found) - set(classes))
            raise ValueError(f"train.data.classification: classes of {self.folder} differ from the training split's "
                             f"(missing {missing[:5]}, extra {extra[:5]})")
        self.classes = found
        self.samples: list[tuple[Path, int]] = []
        for label, name in enumerate(found):
            try:
                files = list_images(self.folder / name)
            except FileNotFoundError as err:
                raise FileNotFoundError(f"train.data.classification: class folder {self.folder / name} holds no images "
                                        f"({', '.join(IMAGE_SUFFIXES)})") from err
            self.samples += [(f, label) for f in files]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[i]
        return load_center_crop(path, self.size), label


class DUTS(Dataset):
    """DUTS-TR or DUTS-TE: (3 x size x size image, 1 x size x size {0, 1} mask) pairs."""

    def __init__(self, root: str | os.PathLike, split: str, size: int) -> None:
        if split not in DUTS_SPLITS:
            raise ValueError(f"DUTS split must be one of {', '.join(DUTS_SPLITS)}, got {split!r}")
        base = Path(root) / split
        self.image_dir, self.mask_dir, self.size = base / f"{split}-Image", base / f"{split}-Mask", size
        for folder in (self.image_dir, self.mask_dir):
            if not folder.is_dir():
                raise FileNotFoundError(f"train.data.saliency: folder {folder} does not exist "
                                        f"(DUTS layout: root/{split}/{split}-Image/*.jpg and "
                                        f"root/{split}/{split}-Mask/*.png)")
        try:
            images = list_images(self.image_dir)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"train.data.saliency: no images in {self.image_dir}") from err
        masks = {p.stem: p for p in self.mask_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
        missing = [p.name for p in images if p.stem not in masks]
        if missing:
            raise FileNotFoundError(
                f"train.data.saliency: {len(missing)} image(s) of {self.image_dir} have no mask in {self.mask_dir}: "
                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} (expected <stem>.png)"
            )
        self.samples = [(p, masks[p.stem]) for p in images]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image_path, mask_path = self.samples[i]
        image = load_image(image_path, "RGB")
        mask = load_image(mask_path, "L")
        if mask.size != image.size:
            raise ValueError(f"mask {mask_path} is {mask.size[1]}x{mask.size[0]} px "
                             f"but image {image_path} is {image.size[1]}x{image.size[0]}")
        shape = (self.size, self.size)
        x = _to_tensor(image.resize(shape, Image.BILINEAR))
        m = _to_tensor(mask.resize(shape, Image.BILINEAR))
        return x, (m >= 0.5).float()
