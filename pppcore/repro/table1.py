"""Table 1 of the paper (the BHV test on black and grey backgrounds): CSV + booktabs LaTeX.

One row per network (padding x F-Conv?, plus no padding), per background the similar and
dissimilar test accuracy (mean +- std over trials, population std as the original), their
difference (dissimilar - similar of the means) and the trajectory inconsistency rate.
Marks as in the paper: per background and metric column, the best row in green and the
worst two in red. Ranking uses the printed (2-decimal) values; rows tied with the best are
all green, rows at or below the second-worst printed value are red, and a column whose
rows all print the same value gets no mark.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable

import pandas as pd

from ..padding import PADDINGS

METRICS = ("similar", "dissimilar", "diff", "inconsistency")
# How each column ranks: larger is better, smaller is better, or closer to zero is better.
BETTER = {"similar": "high", "dissimilar": "high", "diff": "zero", "inconsistency": "low"}
HEADERS = {"similar": "Similar (\\%)", "dissimilar": "Dissimilar (\\%)", "diff": "Diff (\\%)", "inconsistency": "Inconsistency (\\%)"}
FCONV = {"same": "N", "full": "Y", "valid": "-"}
PREAMBLE = "% Needs \\usepackage{booktabs} and \\usepackage{xcolor} (green/red marks).\n"


def collect(json_paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per (network, background, trial) from the BHV job JSONs."""
    rows = []
    for path in json_paths:
        with open(path) as f:
            job = json.load(f)
        try:
            head = {k: job[k] for k in ("padding", "conv_type", "background")}
            if not job["trials"]:
                raise ValueError(f"{path}: BHV result has no trials")
            rows += [{**head, **{k: t[k] for k in ("trial", *METRICS)}} for t in job["trials"]]
        except KeyError as err:
            raise ValueError(f"{path}: BHV result lacks key {err}; expected padding, conv_type, background and "
                             f"trials with {', '.join(('trial', *METRICS))}") from None
    if not rows:
        raise ValueError("no BHV results to collect")
    return pd.DataFrame(rows)


def table1(df: pd.DataFrame) -> pd.DataFrame:
    """Wide Table 1: one row per (padding, conv type); ``{background}_{metric}_{mean,std}`` columns."""
    order = {p: i for i, p in enumerate(PADDINGS)}
    conv_order = {c: i for i, c in enumerate(FCONV)}
    backgrounds = list(dict.fromkeys(df["background"]))
    rows = []
    for (padding, conv), g in sorted(df.groupby(["padding", "conv_type"]), key=lambda kv: (order.get(kv[0][0], 99), conv_order.get(kv[0][1], 99))):
        row = {"padding": padding, "conv_type": conv, "fconv": FCONV.get(conv, conv)}
        for bg in backgrounds:
            s = g[g["background"] == bg]
            row[f"{bg}_trials"] = len(s)
            for m in ("similar", "dissimilar", "inconsistency"):
                row[f"{bg}_{m}_mean"] = s[m].mean() if len(s) else math.nan
                row[f"{bg}_{m}_std"] = s[m].std(ddof=0) if len(s) else math.nan
            row[f"{bg}_diff"] = row[f"{bg}_dissimilar_mean"] - row[f"{bg}_similar_mean"]
        rows.append(row)
    return pd.DataFrame(rows)


def backgrounds_of(t: pd.DataFrame) -> list[str]:
    return [c[: -len("_trials")] for c in t.columns if c.endswith("_trials")]


def value_column(bg: str, metric: str) -> str:
    return f"{bg}_diff" if metric == "diff" else f"{bg}_{metric}_mean"


def marks(values: pd.Series, better: str) -> list[str]:
    """``green`` / ``red`` / ``""`` per value: best one(s) green, worst two red (see module doc)."""
    shown = values.round(2)
    score = {"high": shown, "low": -shown, "zero": -shown.abs()}[better]
    valid = score.dropna()
    if valid.nunique() < 2:
        return [""] * len(values)
    best = valid.max()
    second_worst = valid.sort_values().iloc[min(1, len(valid) - 1)]
    return ["" if math.isnan(s) else "green" if s == best else "red" if s <= second_worst else "" for s in score]


def _cell(mean: float, std: float | None, mark: str) -> str:
    if math.isnan(mean):
        return "--"
    text = f"{mean:.2f}" if std is None else f"{mean:.2f}$\\pm${std:.2f}"
    colour = {"green": "green!60!black", "red": "red"}.get(mark)
    return f"\\textcolor{{{colour}}}{{{text}}}" if colour else text


def table1_latex(t: pd.DataFrame) -> str:
    """Booktabs LaTeX in the paper's layout, with the green/red marks."""
    bgs = backgrounds_of(t)
    mark = {(bg, m): marks(t[value_column(bg, m)], BETTER[m]) for bg in bgs for m in METRICS}
    n = len(METRICS)
    lines = [
        PREAMBLE.rstrip("\n"),
        "\\begin{tabular}{ll" + "r" * n * len(bgs) + "}",
        "\\toprule",
        "Padding & F-Conv? & " + " & ".join(f"\\multicolumn{{{n}}}{{c}}{{{bg.capitalize()} Background}}" for bg in bgs) + " \\\\",
        "".join(f"\\cmidrule(lr){{{3 + i * n}-{2 + (i + 1) * n}}}" for i in range(len(bgs))),
        " & & " + " & ".join(HEADERS[m] for _ in bgs for m in METRICS) + " \\\\",
        "\\midrule",
    ]
    previous = None
    for i, (_, r) in enumerate(t.iterrows()):
        name = "No-pad" if r["padding"] == "none" else r["padding"].capitalize()
        cells = [name if r["padding"] != previous else "", r["fconv"]]
        for bg in bgs:
            for m in METRICS:
                std = None if m == "diff" else r[f"{bg}_{m}_std"]
                cells.append(_cell(r[value_column(bg, m)], std, mark[(bg, m)][i]))
        previous = r["padding"]
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"
