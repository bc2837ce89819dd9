"""Turning the user's images (tensors, PIL images, file paths) into crops for measurement."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

ImageLike = torch.Tensor | Image.Image | str | os.PathLike
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

# torchvision's ImageNet statistics: what its (and our torchvision-compatible) models expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (a fixed order: same numbers)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} "
                                f"{'is a file, not a folder' if folder.exists() else 'does not exist'}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


@contextmanager
def _reading(path: str | os.PathLike) -> Iterator[None]:
    """Turn PIL's many failure modes (unknown format, truncated data, missing file) into one
    ``ValueError`` that names the file: the user must learn which of thousands is bad."""
    try:
        yield
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"image {path}: cannot be read as an image ({err})") from err


def load_image(path: str | os.PathLike, mode: str = "RGB") -> Image.Image:
    """The image at ``path``, fully decoded and converted to ``mode`` (RGB; ``L`` for masks)."""
    with _reading(path), Image.open(path) as img:
        return img.convert(mode)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of the image at ``path`` from its header, without decoding the pixels."""
    with _reading(path), Image.open(path) as img:
        return img.size


def to_tensor(item: ImageLike, name: str) -> torch.Tensor:
    """A 3 x H x W float tensor in [0, 1]; ``name`` identifies ``item`` in errors."""
    if isinstance(item, torch.Tensor):
        if item.dim() != 3 or item.shape[0] not in (1, 3):
            raise ValueError(f"image {name}: expected a C x H x W tensor with C in (1, 3), "
                             f"got shape {tuple(item.shape)}")
        return item.float().expand(3, -1, -1)
    if isinstance(item, (str, os.PathLike)):
        item = load_image(item)
    if isinstance(item, Image.Image):
        array = np.asarray(item.convert("RGB"), dtype=np.float32) / 255.0
        return torch.from_numpy(array).permute(2, 0, 1).contiguous()
    raise TypeError(f"image {name}: expected a tensor, PIL image or path, got {type(item).__name__}")


def center_crop(image: torch.Tensor, size: tuple[int, int], name: str) -> torch.Tensor:
    """The central ``size`` window of ``image``, or a clear error when it is too small."""
    h, w = image.shape[-2:]
    if h < size[0] or w < size[1]:
        raise ValueError(
            f"image {name} is {h}x{w} px but the big crop needs at least {size[0]}x{size[1]} px; "
            "use larger images or a smaller --input-size"
        )
    top, left = (h - size[0]) // 2, (w - size[1]) // 2
    return image[..., top : top + size[0], left : left + size[1]]


def big_crops(images: Iterable[ImageLike], size: tuple[int, int], batch_size: int) -> Iterator[torch.Tensor]:
    """Batches (N x 3 x H x W) of centred ``size`` crops of ``images``."""
    batch: list[torch.Tensor] = []
    for i, item in enumerate(images):
        name = str(item) if isinstance(item, (str, os.PathLike)) else f"#{i}"
        batch.append(center_crop(to_tensor(item, name), size, name))
        if len(batch) == batch_size:
            yield torch.stack(batch)
            batch = []
    if batch:
        yield torch.stack(batch)


def normalize(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """ImageNet mean/std normalisation of an N x 3 x H x W batch (pointwise: crops commute)."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std) if inplace else (x - mean) / std
