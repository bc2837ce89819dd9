"""Glue: rule claims -> pppcore.repro.claims (the paper's claims judged on this run)."""
import pandas as pd

from pppcore.io import log_to, write_text
from pppcore.repro.claims import claims_latex, claims_markdown, claims_rst, claims_table, provenance
from pppcore.repro.table1 import bhv_claims
from pppcore.repro.tables import collect, collect_posenet

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    scale = sm.params.scale
    bhv = bhv_claims(pd.read_csv(sm.input.table1), scale)
    table = claims_table(collect(sm.input.ppp), scale, collect_posenet(sm.input.posenet), bhv)
    write_text(sm.output.csv, table.to_csv(index=False))
    write_text(sm.output.md, claims_markdown(table, provenance(scale)))
    write_text(sm.output.tex, claims_latex(table))
    with open(sm.params.intro) as f:
        write_text(sm.output.front, claims_rst(table, f.read(), provenance(scale)))
    print(table.to_string())
