"""Glue: rule fig5 -> pppcore.repro.plots."""
from pppcore.io import log_to
from pppcore.repro.plots import fig5_chronological, save
from pppcore.repro.tables import collect

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    save(fig5_chronological(collect(sm.input)), sm.output.png, sm.output.pdf, dpi=sm.params.plots["dpi"])
