"""Glue: rule table2 -> pppcore.tables."""
from pppcore.io import log_to, write_text
from pppcore.tables import collect, table2, table2_latex

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    table = table2(collect(sm.input))
    write_text(sm.output.csv, table.to_csv(index=False))
    write_text(sm.output.tex, table2_latex(table))
    print(table.to_string())
