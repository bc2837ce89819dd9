"""Glue: rule tiles -> pppcore.repro.data.tile_set (synthetic mosaics, XYZ download, or a folder)."""
from pathlib import Path

from pppcore.io import log_to
from pppcore.repro.config import TilesConfig
from pppcore.repro.data.tile_set import build_tile_set

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    build_tile_set(TilesConfig.from_config(sm.params.tiles), Path(sm.output.manifest).parent)
