"""Glue: rule posenet -> pppcore.repro.posenet (one checkpoint: features once, every trial)."""
from pathlib import Path

from pppcore.io import log_to
from pppcore.repro.posenet import config_from, posenet_checkpoint
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    result = posenet_checkpoint(
        sm.input.ckpt, Path(sm.input.tiles).parent, config_from(sm.params.posenet), sm.output.json,
        device=device,
    )
    for t in result["trials"]:
        print(f"trial {t['trial']}: SPC {t['spc']} MAE {t['mae']} (train loss {t['train_loss']})")
