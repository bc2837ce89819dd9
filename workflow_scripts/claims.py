"""Glue: rule claims -> pppcore.repro.claims (the paper's claims judged on this run), the verdict matrix and the
report's compact claims table."""
import pandas as pd

from pppcore.io import log_to, write_text
from pppcore.repro.claims import bhv_claims, claims_latex, claims_markdown, claims_rst, claims_table, provenance
from pppcore.repro.plots import save
from pppcore.repro.reading_fit import primary_reading, rule_text
from pppcore.repro.report import claims_compact
from pppcore.repro.tables import collect, collect_posenet
from pppcore.repro.verdict_matrix import verdict_matrix

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    fit = pd.read_csv(sm.input.fit)
    header = f"{provenance(sm.params.scale)} {rule_text(fit)}"
    posenet = collect_posenet(sm.input.posenet) if sm.input.posenet else None  # config baselines may leave PosENet out
    # ... and BHV: their claims read "not run"
    bhv = bhv_claims(pd.read_csv(sm.input.table1)) if sm.input.table1 else ()
    table = claims_table(collect(sm.input.ppp), sm.params.scale, posenet, bhv,
                         primary_reading=primary_reading(fit), primary_size=sm.params.primary_size)
    write_text(sm.output.csv, table.to_csv(index=False))
    write_text(sm.output.compact, claims_compact(table).to_csv(index=False))  # the report's Claims page
    write_text(sm.output.md, claims_markdown(table, header))
    write_text(sm.output.tex, claims_latex(table, header))
    with open(sm.params.intro) as f:
        write_text(sm.output.front, claims_rst(table, f.read(), header))
    save(verdict_matrix(table), sm.output.matrix, sm.output.matrix_pdf)
    print(table.to_string())
