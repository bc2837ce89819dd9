"""The ``tiles:`` config section (:class:`pppcore.repro.config.TilesConfig`) -> the measurement
image set and its manifest."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import TilesConfig


def build_tile_set(tiles: TilesConfig, out_dir: str | os.PathLike) -> None:
    """Synthetic mosaics, an XYZ download or a local folder, by ``tiles.source``."""
    out_dir = Path(out_dir)
    if tiles.source == "synthetic":
        from .synthetic_tiles import write_synthetic_mosaics

        write_synthetic_mosaics(out_dir, tiles.n, tiles.size, tiles.seed)
    elif tiles.source == "xyz":
        from .tiles import download_tiles, mosaic_specs

        xyz = tiles.xyz
        missing = [f"tiles.xyz.{key}" for key in ("url_templates", "boxes") if not getattr(xyz, key)]
        if missing:
            raise ValueError(f"{' and '.join(missing)} must not be empty for tiles.source xyz")
        specs = mosaic_specs(xyz.boxes, xyz.zoom, tiles.size, tiles.n)
        download_tiles(xyz.url_templates, specs, out_dir, out_dir / "cache",
                       timeout=(10.0, xyz.timeout_s), retries=xyz.retries, min_interval=xyz.min_interval_s)
    elif tiles.source == "folder":
        from .folder import index_folder

        if not tiles.folder:
            raise ValueError("tiles.folder is required for tiles.source folder")
        index_folder(tiles.folder, out_dir, tiles.n, tiles.size)
    else:
        raise ValueError(f"tiles.source must be synthetic, xyz or folder, got {tiles.source!r}")
