"""Glue: rule train -> pppcore.repro.train.train_job (resume state outside the declared outputs)."""
from pppcore.io import log_to
from pppcore.repro.config import TrainConfig
from pppcore.repro.train import train_job
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
w = sm.wildcards
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    cfg = TrainConfig.from_config(w.arch, w.padding, int(w.seed), sm.params.arch, sm.params.recipe, sm.params.data)
    train_job(cfg, sm.params.state_dir, sm.output.ckpts, sm.output.log_csv, device=device,
              workers=sm.config["train"]["workers"])
