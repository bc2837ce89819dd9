"""Glue: rule posenet -> pppcore.posenet (one checkpoint: features once, every trial)."""
from pathlib import Path

import torch

from pppcore.io import log_to
from pppcore.posenet import config_from, posenet_checkpoint
from pppcore.runtime import resolve_device, tune_malloc

sm = snakemake  # noqa: F821 (injected by Snakemake)
tune_malloc()
torch.set_num_threads(sm.threads)
with log_to(sm.log[0]):
    result = posenet_checkpoint(
        sm.input.ckpt, Path(sm.input.tiles).parent, config_from(sm.params.posenet), sm.output.json,
        device=resolve_device(sm.config.get("device", "auto")),
    )
    for t in result["trials"]:
        print(f"trial {t['trial']}: SPC {t['spc']} MAE {t['mae']} (train loss {t['train_loss']})")
