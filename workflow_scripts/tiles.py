"""Glue: rule tiles -> pppcore.repro.data (synthetic mosaics, XYZ download, or a local folder)."""
from pathlib import Path

from pppcore.io import log_to

cfg = snakemake.params.tiles  # noqa: F821 (injected by Snakemake)
out_dir = Path(snakemake.output.manifest).parent  # noqa: F821

with log_to(snakemake.log[0]):  # noqa: F821
    if cfg["source"] == "synthetic":
        from pppcore.repro.data.synthetic_tiles import write_synthetic_mosaics

        write_synthetic_mosaics(out_dir, cfg["n"], cfg["size"], cfg["seed"])
    elif cfg["source"] == "xyz":
        from pppcore.repro.data.tiles import TileClient, build_mosaics, mosaic_specs

        xyz = cfg["xyz"]
        client = TileClient(xyz["url_templates"], out_dir / "cache", timeout=(10.0, xyz["timeout_s"]),
                            retries=xyz["retries"], min_interval=xyz["min_interval_s"])
        build_mosaics(client, mosaic_specs(xyz["boxes"], xyz["zoom"], cfg["size"], cfg["n"]), out_dir)
    else:
        from pppcore.repro.data.folder import index_folder

        index_folder(cfg["folder"], out_dir, cfg["n"], cfg["size"])
