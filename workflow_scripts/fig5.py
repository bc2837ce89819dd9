"""Glue: rule fig5 -> pppcore.plots."""
from pppcore.io import log_to
from pppcore.plots import fig5_chronological, save
from pppcore.tables import collect

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    save(fig5_chronological(collect(sm.input)), sm.output.png, sm.output.pdf)
