"""``tiles.source: folder``: any directory of images becomes the measurement set."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ...images import image_size, list_images
from ...io import atomic_path, sha256_file
from .manifest import write_manifest


def index_folder(folder: str | os.PathLike, out_dir: str | os.PathLike, n: int, size: int) -> dict[str, Any]:
    """Copy the first ``n`` images (sorted by name) of ``folder`` into ``out_dir`` with a manifest.

    Every image must open and be at least ``size`` px on both sides (the measurement crops
    from it); otherwise the error names the file, before anything is written.
    """
    files = list_images(folder)
    if len(files) < n:
        raise ValueError(f"tiles.folder {folder} holds {len(files)} images, tiles.n asks for {n}")
    entries = []
    for path in files[:n]:
        w, h = image_size(path)
        if min(w, h) < size:
            raise ValueError(f"image {path} is {h}x{w} px; tiles.size asks for at least {size}x{size}")
        entries.append({"file": path.name, "width": w, "height": h, "source": str(path)})
    out_dir = Path(out_dir)
    for e in entries:
        with atomic_path(out_dir / e["file"]) as tmp:
            shutil.copyfile(e["source"], tmp)
        e["sha256"] = sha256_file(out_dir / e["file"])
    return write_manifest(out_dir, entries, source="folder", folder=str(folder))
