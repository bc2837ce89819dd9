"""PPP of one checkpoint over an image set, saved small: JSON scalars + NPZ maps.

Raw features never touch the disk; what is kept is what the figures and tables need:
per-LoI scalars, channel-mean PPP maps and the running estimate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from .alignment import Alignment, align, input_size_for
from .checkpoint import load_checkpoint
from .images import list_images
from .io import write_json, write_npz
from .metrics import PPPResult, measure_ppp
from .models import PPPModel


def save_results(results: dict[str, PPPResult], json_path: str | os.PathLike, npz_path: str | os.PathLike,
                 meta: dict[str, Any]) -> None:
    """Write scalars to ``json_path`` and maps/running estimates to ``npz_path``, atomically."""
    arrays = {}
    for name, r in results.items():
        arrays[f"{name}/channel_mean"] = r.channel_mean.numpy()
        arrays[f"{name}/signed_channel_mean"] = r.signed_map.mean(0).numpy()
        arrays[f"{name}/running_mae"] = r.running_mae
        arrays[f"{name}/running_snr"] = r.running_snr
    write_npz(npz_path, arrays)
    write_json(json_path, {**meta, "layers": {k: r.summary() for k, r in results.items()}})


def measure_folder(
    model: PPPModel,
    images: str | os.PathLike,
    input_size: int,
    json_path: str | os.PathLike | None = None,
    npz_path: str | os.PathLike | None = None,
    *,
    checkpoint: str | os.PathLike | None = None,
    max_images: int = 0,
    batch_size: int = 8,
    device: str | None = None,
    seed: int = 0,
    progress: bool = True,
    alignment: Alignment | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, PPPResult]:
    """PPP of ``model`` on the first ``max_images`` (0: all) images of a folder; with
    ``json_path`` and ``npz_path``, also saved with the model, checkpoint and alignment.
    ``alignment`` overrides the exact one (see :func:`pppcore.metrics.measure_ppp`);
    ``meta`` adds entries to the JSON."""
    if max_images < 0 or batch_size < 1:
        raise ValueError("max_images must be >= 0 (0: every image) and batch_size >= 1, "
                         f"got {max_images} and {batch_size}")
    files = list_images(images)[: max_images or None]
    results = measure_ppp(
        model, files, input_size, device=device, batch_size=batch_size, seed=seed, progress=progress,
        alignment=alignment
    )
    if json_path is not None and npz_path is not None:
        meta = {
            "checkpoint": None if checkpoint is None else str(checkpoint),
            **getattr(model, "checkpoint_meta", {}),
            "config": model.config,
            "images": str(images),
            "n_images": len(files),
            "alignment": (alignment or align(model, input_size)).to_dict(),
            **(meta or {}),
        }
        save_results(results, json_path, npz_path, meta)
    return results


def extract_ppp(
    checkpoint: str | os.PathLike,
    images: str | os.PathLike,
    input_size: int,
    json_path: str | os.PathLike,
    npz_path: str | os.PathLike,
    *options: Any,
    **kw_options: Any,
) -> dict[str, PPPResult]:
    """The workflow's extraction step at one size: :func:`extract_sizes` with one output; the
    options (``max_images``, ``batch_size``, ``device``, ``seed``, ``progress``, ``calibrate``) are its."""
    return extract_sizes(checkpoint, images, [(input_size, json_path, npz_path)], *options, **kw_options)[input_size]


def extract_sizes(
    checkpoint: str | os.PathLike,
    images: str | os.PathLike,
    outputs: Sequence[tuple[int, str | os.PathLike, str | os.PathLike]],
    max_images: int = 0,
    batch_size: int = 8,
    device: str | None = None,
    seed: int = 0,
    progress: bool = True,
    calibrate: Callable[[PPPModel], dict[str, Any]] | None = None,
) -> dict[int, dict[str, PPPResult]]:
    """The workflow's extraction step: the checkpoint's model, loaded (and calibrated) once,
    measured at each ``(size, json_path, npz_path)`` of ``outputs`` and saved there.
    Returns {size: results}.

    A ``none``-padded model that cannot see a size down to its last LoI is measured at its
    smallest valid size instead (it is its own twin: PPP is 0 either way), as are ``reflect``
    and ``circular`` nets below theirs, as training does (:func:`input_size_for`); the JSON
    keeps the size asked for as ``size`` and the one run in its ``alignment``.
    ``calibrate`` (e.g. :func:`pppcore.repro.calibration.bn_calibrator`) is called with the
    loaded model, on ``device``, before measuring; what it returns goes into the JSON as
    ``bn_statistics``. Without it the checkpoint is measured as saved.
    """
    model = load_checkpoint(checkpoint)
    record = {"bn_stats": "as_saved"}
    if calibrate is not None:
        if device is not None:
            model = model.to(device)
        record = calibrate(model)
    results = {}
    for asked, json_out, npz_out in outputs:
        size = input_size_for(model, asked)
        if size != asked:
            print(f"{model.arch}/{model.padding}: measured at {size} px, the smallest input that reaches its last LoI",
                  flush=True)
        results[asked] = measure_folder(
            model, images, size, json_out, npz_out, checkpoint=checkpoint,
            max_images=max_images, batch_size=batch_size, device=device, seed=seed, progress=progress,
            meta={"bn_statistics": record, "size": asked},
        )
    return results
