"""Glue: rule fig3 -> pppcore.repro.bhv_plots."""
from pppcore.io import log_to
from pppcore.repro.bhv_plots import fig3_samples
from pppcore.repro.plots import save

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    save(fig3_samples(tuple(sm.params.backgrounds), sm.params.seed), sm.output.png, sm.output.pdf,
         dpi=sm.params.plots["dpi"])
