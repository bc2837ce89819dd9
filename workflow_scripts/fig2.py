"""Glue: rule fig2 -> pppcore.repro.shift (one trained checkpoint, exact vs naive alignment)."""
from pathlib import Path

from pppcore.checkpoint import load_checkpoint
from pppcore.io import log_to, write_text
from pppcore.repro.plots import fig2_principal_shift, save
from pppcore.repro.shift import principal_shift
from pppcore.runtime import prepare_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.ppp
with log_to(sm.log[0]):
    device = prepare_job(sm.threads, sm.config["device"])  # errors land in the log
    model = load_checkpoint(sm.input.ckpt)
    exact, naive, table = principal_shift(model, Path(sm.input.tiles).parent, p["input_size"],
                                          max_images=p["max_images"], batch_size=p["batch_size"], device=device)
    write_text(sm.output.csv, table.to_csv(index=False))
    caption = f"{model.arch} {model.padding}, {Path(sm.input.ckpt).stem}, {p['input_size']} px"
    save(fig2_principal_shift(exact, naive, caption), sm.output.png, sm.output.pdf, dpi=sm.params.plots["dpi"])
