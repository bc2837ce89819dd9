"""Glue: rule reading_fit -> pppcore.repro.reading_fit (each SNR reading against the paper's init rows; \
the primary reading)."""
from pppcore.io import log_to, write_text
from pppcore.repro.reading_fit import fit_latex, fit_summary, reading_fit, rule_text
from pppcore.repro.tables import collect

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    df = collect(sm.input.ppp)
    fit = reading_fit(df)
    summary = fit_summary(fit, sm.params.primary_size, df["size"].unique())
    write_text(sm.output.csv, fit.to_csv(index=False, float_format="%.6g"))
    write_text(sm.output.summary, summary.to_csv(index=False, float_format="%.6g"))
    write_text(sm.output.tex, fit_latex(summary))
    print(summary.to_string(), rule_text(summary), sep="\n")
