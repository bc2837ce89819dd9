"""Glue: rule ppp_metrics -> pppcore.extract (one checkpoint over the tile set)."""
from pathlib import Path

import torch

from pppcore.extract import extract_ppp
from pppcore.io import log_to
from pppcore.runtime import resolve_device, tune_malloc

sm = snakemake  # noqa: F821 (injected by Snakemake)
tune_malloc()
torch.set_num_threads(sm.threads)
p = sm.params.ppp
with log_to(sm.log[0]):
    extract_ppp(
        sm.input.ckpt, Path(sm.input.tiles).parent, p["input_size"], sm.output.json, sm.output.npz,
        max_images=p.get("max_images", 0), batch_size=p.get("batch_size", 8),
        device=resolve_device(sm.config.get("device", "auto")),
    )
