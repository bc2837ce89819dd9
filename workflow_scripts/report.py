"""Glue: rule report -> pppcore.repro.report (snakemake --report on this very run)."""
from pppcore.io import log_to
from pppcore.repro.report import snakemake_report

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    snakemake_report(sm.params.snakefile, sm.config, sm.output[0])
