"""Glue: rule bhv -> pppcore.bhv (all trials of one network, one JSON per background)."""
import torch

from pppcore.bhv import BHVConfig, run_variant
from pppcore.io import log_to, write_json
from pppcore.runtime import resolve_device, tune_malloc

sm = snakemake  # noqa: F821 (injected by Snakemake)
tune_malloc()
torch.set_num_threads(sm.threads)
with log_to(sm.log[0]):
    cfg = BHVConfig.from_dict(sm.params.bhv)
    device = resolve_device(sm.config.get("device", "auto"))
    w = sm.wildcards
    for background, out in zip(sm.params.bhv["backgrounds"], sm.output, strict=True):
        write_json(out, run_variant(w.bpad, w.conv, background, cfg, device))
