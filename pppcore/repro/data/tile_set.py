"""The ``tiles:`` config section -> the measurement image set and its manifest."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import with_defaults


def build_tile_set(tiles: Mapping[str, Any], out_dir: str | os.PathLike) -> None:
    """Synthetic mosaics, an XYZ download or a local folder, by ``tiles["source"]``."""
    cfg = with_defaults(tiles, "tiles")
    out_dir = Path(out_dir)
    if cfg["source"] == "synthetic":
        from .synthetic_tiles import write_synthetic_mosaics

        write_synthetic_mosaics(out_dir, cfg["n"], cfg["size"], cfg["seed"])
    elif cfg["source"] == "xyz":
        from .tiles import download_tiles, mosaic_specs

        xyz = with_defaults(cfg["xyz"], "tiles.xyz")
        missing = [f"tiles.xyz.{key}" for key in ("url_templates", "boxes") if not xyz[key]]
        if missing:
            raise ValueError(f"{' and '.join(missing)} must not be empty for tiles.source xyz")
        download_tiles(xyz["url_templates"], mosaic_specs(xyz["boxes"], xyz["zoom"], cfg["size"], cfg["n"]), out_dir, out_dir / "cache",
                       timeout=(10.0, xyz["timeout_s"]), retries=xyz["retries"], min_interval=xyz["min_interval_s"])
    elif cfg["source"] == "folder":
        from .folder import index_folder

        if not cfg["folder"]:
            raise ValueError("tiles.folder is required for tiles.source folder")
        index_folder(cfg["folder"], out_dir, cfg["n"], cfg["size"])
    else:
        raise ValueError(f"tiles.source must be synthetic, xyz or folder, got {cfg['source']!r}")
