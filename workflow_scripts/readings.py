"""Glue: rule readings -> pppcore.repro.readings (every PPP reading, init vs trained, vs the paper)."""
from pppcore.io import log_to, write_text
from pppcore.repro.readings import readings_latex, readings_table
from pppcore.repro.tables import collect

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    table = readings_table(collect(sm.input.ppp))
    write_text(sm.output.csv, table.to_csv(index=False, float_format="%.6g"))
    write_text(sm.output.tex, readings_latex(table, sm.params.primary_size))
    print(table.to_string())
