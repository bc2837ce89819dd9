"""Which SNR reading matches the paper: each reading's init values against Table 2's init rows.

Eq. 4's sigma, "the standard deviation on the spatial dimensions", admits several readings
(:data:`pppcore.metrics.SIGMAS`) and the paper publishes no code. This module compares every
reading, at every measured size, with the paper's SNR-PPP of randomly initialised models and
picks the *primary reading* the claims are judged under, by a rule fixed here
(:func:`pick`). Only init rows are used: the trained rows are what the claims judge, and a
reading picked on them would be tuned to make the claims hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from ..metrics import SNR_READINGS
from .paper import paper_table2

FIT_COLUMNS = ("reading", "size", "arch", "padding", "paper", "ours", "seeds", "ratio", "abs_log10_ratio", "paper_zero",
               "ours_zero")
SUMMARY_COLUMNS = ("reading", "size", "rows", "median_abs_log10_ratio", "worst_abs_log10_ratio", "zero_rows",
                   "zero_rows_matched", "primary", "rule")
# Eq. 4 as written: the reading used when the rule has nothing to pick on.
FALLBACK = "snr_ppp"
RULE = ("on Table 2's init rows only: most rows the paper prints as 0.0000 that come out exactly 0, "
        "then the smallest median abs(log10(ours / paper)) over the rows it prints as non-zero "
        "(ours 0 or undefined there counts as infinite), then the smallest worst, "
        "then the order of pppcore.metrics.SNR_READINGS")


def paper_init_rows() -> list[tuple[str, str, float]]:
    """(arch, padding, SNR-PPP) of every init row the paper's Table 2 prints."""
    return [(r["arch"], r["padding"], r["value"]) for r in paper_table2()
            if r["stage"] == "init" and r["metric"] == "snr_ppp" and not math.isnan(r["value"])]


def abs_log10_ratio(ours: float, paper: float) -> float:
    """abs(log10(ours / paper)); NaN where the paper prints 0 (no ratio), infinite where ours is
    0 or undefined against a non-zero paper value (the worst possible fit)."""
    if paper == 0:
        return math.nan
    return abs(math.log10(ours / paper)) if ours > 0 else math.inf


def _fit_row(reading: str, size: int, arch: str, padding: str, paper: float, values: pd.Series) -> dict:
    v = values.astype(float)
    ours = float(v.mean()) if v.notna().any() else math.nan
    return {
        "reading": reading, "size": size, "arch": arch, "padding": padding, "paper": paper, "ours": ours,
        "seeds": int(v.notna().sum()), "ratio": ours / paper if paper else math.nan,
        "abs_log10_ratio": abs_log10_ratio(ours, paper), "paper_zero": paper == 0,
        "ours_zero": bool(len(v)) and bool((v == 0).all()),
    }


def reading_fit(df: pd.DataFrame) -> pd.DataFrame:
    """One row per SNR reading x measured size x Table 2 init row whose (arch, padding) the run
    has: ours is the mean over seeds at epoch 0, LoI 4. ``df`` is :func:`.tables.collect`'s."""
    init = df[(df["epoch"] == 0) & (df["loi_index"] == df["loi_index"].max())]
    groups = {key: g for key, g in init.groupby(["size", "arch", "padding"], sort=False)}
    rows = [
        _fit_row(reading, int(size), arch, padding, paper,
                 groups[(size, arch, padding)].groupby("seed")[reading].mean())
        for reading in SNR_READINGS for size in dict.fromkeys(init["size"])
        for arch, padding, paper in paper_init_rows()
        if (size, arch, padding) in groups
    ]
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def _summary_row(fit: pd.DataFrame, reading: str, size: int) -> dict:
    g = fit[(fit["reading"] == reading) & (fit["size"] == size)]
    nonzero, zero = g[~g["paper_zero"].astype(bool)], g[g["paper_zero"].astype(bool)]
    logs = nonzero["abs_log10_ratio"].astype(float).fillna(math.inf)
    return {
        "reading": reading, "size": size, "rows": len(nonzero),
        "median_abs_log10_ratio": float(logs.median()) if len(logs) else math.nan,
        "worst_abs_log10_ratio": float(logs.max()) if len(logs) else math.nan,
        "zero_rows": len(zero), "zero_rows_matched": int(zero["ours_zero"].astype(bool).sum()),
    }


def pick(summary: pd.DataFrame, primary_size: int) -> tuple[str, str]:
    """(primary reading, the rule's one line) from the summary rows at ``primary_size``."""
    at = summary[(summary["size"] == primary_size) & (summary["rows"] + summary["zero_rows"] > 0)]
    if at.empty:
        return FALLBACK, (f"Primary reading {FALLBACK} (Eq. 4 as written), a fallback: "
                          "no Table 2 init row is measured at the "
                          f"primary size ({primary_size} px), so the rule ({RULE}) has nothing to pick on.")
    order = {r: i for i, r in enumerate(SNR_READINGS)}
    best = min(at.itertuples(index=False), key=lambda r: (-r.zero_rows_matched, _inf(r.median_abs_log10_ratio),
                                                          _inf(r.worst_abs_log10_ratio), order[r.reading]))
    return best.reading, (f"Primary reading {best.reading}, picked at the primary size ({primary_size} px) "
                          f"by a rule fixed in code, {RULE}.")


def _inf(x: float) -> float:
    return math.inf if math.isnan(x) else x


def fit_summary(fit: pd.DataFrame, primary_size: int, sizes: Iterable[int] = ()) -> pd.DataFrame:
    """One row per (SNR reading, size): how well the reading matches the paper's init rows, and
    which one is primary (at ``primary_size`` only; ``rule`` says how it was picked)."""
    every = list(dict.fromkeys(int(s) for s in (primary_size, *fit["size"], *sizes)))
    summary = pd.DataFrame([_summary_row(fit, r, s) for r in SNR_READINGS for s in every],
                           columns=list(SUMMARY_COLUMNS[:-2]))
    reading, rule = pick(summary, primary_size)
    return summary.assign(primary=(summary["reading"] == reading) & (summary["size"] == primary_size), rule=rule)


def primary_reading(summary: pd.DataFrame) -> str:
    """The reading :func:`fit_summary` marked primary (:data:`FALLBACK` if none is)."""
    hit = summary.loc[summary["primary"].astype(bool), "reading"]
    return str(hit.iloc[0]) if len(hit) else FALLBACK


def rule_text(summary: pd.DataFrame) -> str:
    """The one line saying which reading is primary and by what rule."""
    return (str(summary["rule"].iloc[0]) if len(summary)
            else f"Primary reading {FALLBACK} (Eq. 4 as written): no fit was made.")


def _num(x: float) -> str:
    return "--" if math.isnan(x) else "inf" if math.isinf(x) else f"{x:.3f}"


def fit_latex(summary: pd.DataFrame) -> str:
    """Booktabs LaTeX of the summary; the primary reading in bold."""
    lines = [
        r"% How each SNR reading fits the paper's Table 2 init rows (reading_fit_summary.csv). "
        r"Needs \usepackage{booktabs}.",
        "% " + rule_text(summary),
        r"\begin{tabular}{lrrrrr}",
        r"\toprule",
        r"Reading & Size (px) & Non-zero rows & Median & Worst & Zero rows matched \\",
        r"\midrule",
    ]
    for r in summary.itertuples(index=False):
        name = r.reading.replace("_", r"\_")
        cells = [rf"\textbf{{{name}}}" if r.primary else name, str(r.size), str(r.rows), _num(r.median_abs_log10_ratio),
                 _num(r.worst_abs_log10_ratio), f"{r.zero_rows_matched}/{r.zero_rows}"]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              r"% Median, worst: abs(log10(ours / paper)) over the rows the paper prints as non-zero."]
    return "\n".join(lines) + "\n"
