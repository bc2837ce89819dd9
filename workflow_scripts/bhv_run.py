"""Glue: rule bhv -> pppcore.repro.bhv (all trials of one network under one split protocol, one JSON per background)."""
from pppcore.io import log_to, write_json
from pppcore.repro.bhv import run_variant
from pppcore.repro.config import BHVConfig
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    cfg = BHVConfig.from_config(sm.params.bhv)
    w = sm.wildcards
    for background, out in zip(sm.params.bhv["backgrounds"], sm.output, strict=True):
        write_json(out, run_variant(w.bpad, w.conv, background, cfg, device, split=w.split))
