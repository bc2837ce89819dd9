"""Glue: rule posenet -> pppcore.repro.posenet (per checkpoint: features once, every trial)."""
from pathlib import Path

from pppcore.io import log_to
from pppcore.repro.config import PosENetConfig
from pppcore.repro.posenet import posenet_checkpoint
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    cfg = PosENetConfig.from_config(sm.params.posenet)
    for ckpt, json_out in zip(sm.input.ckpts, sm.output.json, strict=True):
        result = posenet_checkpoint(ckpt, Path(sm.input.tiles).parent, cfg, json_out, device=device)
        for t in result["trials"]:
            print(f"{Path(ckpt).name} trial {t['trial']}: SPC {t['spc']} MAE {t['mae']} (train loss {t['train_loss']})")
