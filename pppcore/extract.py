"""PPP of one checkpoint over an image set, saved small: JSON scalars + NPZ maps.

Raw features never touch the disk; what is kept is what the figures and tables need:
per-LoI scalars, channel-mean PPP maps and the running estimate.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .alignment import align
from .checkpoint import load_checkpoint
from .io import atomic_path, write_json
from .images import list_images
from .metrics import PPPResult, measure_ppp


def save_results(results: dict[str, PPPResult], json_path: str | os.PathLike, npz_path: str | os.PathLike, meta: dict[str, Any]) -> None:
    """Write scalars to ``json_path`` and maps/running estimates to ``npz_path``, atomically."""
    arrays = {}
    for name, r in results.items():
        arrays[f"{name}/channel_mean"] = r.channel_mean.numpy()
        arrays[f"{name}/running_mae"] = r.running_mae
        arrays[f"{name}/running_snr"] = r.running_snr
    with atomic_path(npz_path) as tmp:
        np.savez_compressed(tmp, **arrays)
    write_json(json_path, {**meta, "layers": {k: r.summary() for k, r in results.items()}})


def extract_ppp(
    checkpoint: str | os.PathLike,
    images: str | os.PathLike,
    input_size: int,
    json_path: str | os.PathLike,
    npz_path: str | os.PathLike,
    max_images: int = 0,
    batch_size: int = 8,
    device: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, PPPResult]:
    """Measure the checkpoint's model on the first ``max_images`` (0: all) images of a folder."""
    model = load_checkpoint(checkpoint)
    files = list_images(images)[: max_images or None]
    results = measure_ppp(model, files, input_size, device=device, batch_size=batch_size, seed=seed, progress=progress)
    meta = {
        "checkpoint": str(checkpoint),
        **model.checkpoint_meta,
        "config": model.config,
        "images": str(images),
        "n_images": len(files),
        "alignment": align(model, input_size).to_dict(),
    }
    save_results(results, json_path, npz_path, meta)
    return results
