"""Glue: rule table2 -> pppcore.repro.tables (PPP extraction JSONs + PosENet JSONs)."""
import pandas as pd

from pppcore.io import log_to, write_text
from pppcore.repro.reading_fit import primary_reading
from pppcore.repro.tables import collect, collect_posenet, table2, table2_latex

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    external = collect(sm.input.external) if sm.input.external else None
    posenet = collect_posenet(sm.input.posenet) if sm.input.posenet else None  # config baselines without posenet
    table = table2(collect(sm.input.ppp), posenet, external=external,
                   reading=primary_reading(pd.read_csv(sm.input.fit)))
    write_text(sm.output.csv, table.to_csv(index=False))
    write_text(sm.output.tex, table2_latex(table))
    print(table.to_string())
