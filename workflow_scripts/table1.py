"""Glue: rule table1 -> pppcore.repro.table1."""
from pppcore.io import log_to, write_text
from pppcore.repro.table1 import collect, table1, table1_latex

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    table = table1(collect(sm.input))
    write_text(sm.output.csv, table.to_csv(index=False, float_format="%.4f"))
    write_text(sm.output.tex, table1_latex(table))
    print(table.to_string())
