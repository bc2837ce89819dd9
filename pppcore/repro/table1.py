"""Table 1 of the paper (the BHV test on black and grey backgrounds): CSV + booktabs LaTeX,
(its claims are judged in :mod:`.claims`, :func:`~.claims.bhv_claims`).

One row per split protocol and network (padding x F-Conv?, plus no padding), per background
the similar and dissimilar test accuracy (mean +- std over trials, population std as the
original), their difference (dissimilar - similar of the means) and the trajectory
inconsistency rate. Splits come in the order first seen (the workflow passes them in the
config's order; the first is the paper's Table 1, the others robustness variants, see
:mod:`.bhv`). Marks as in the paper, per split: per background and metric column, the best
row in green and the worst two in red. Ranking uses the printed (2-decimal) values; rows
tied with the best are all green, rows at or below the second-worst printed value are red,
and a column whose rows all print the same value gets no mark.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

import pandas as pd

from ..io import read_json
from ..padding import PADDINGS

METRICS = ("similar", "dissimilar", "diff", "inconsistency")
# How each column ranks: larger is better, smaller is better, or closer to zero is better.
BETTER = {"similar": "high", "dissimilar": "high", "diff": "zero", "inconsistency": "low"}
HEADERS = {"similar": "Similar (\\%)", "dissimilar": "Dissimilar (\\%)", "diff": "Diff (\\%)",
           "inconsistency": "Inconsistency (\\%)"}
FCONV = {"same": "N", "full": "Y", "valid": "-"}
PREAMBLE = "% Needs \\usepackage{booktabs} and \\usepackage{xcolor} (green/red marks).\n"
# A result without a split is from before split protocols existed: its splits had their own streams.
LEGACY_SPLIT = "independent"
SPLIT_CAPTIONS = {
    "original": "the paper's protocol (the original code's): "
                "validation and similar test sets are the first training images",
    "independent": "validation and test sets drawn from their own random streams, unseen in training "
                   "(a deviation from the paper's protocol)",
}


def collect(json_paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per (split, network, background, trial) from the BHV job JSONs (split
    :data:`LEGACY_SPLIT` when a JSON has none)."""
    rows = []
    for path in json_paths:
        job = read_json(path)
        try:
            head = {"split": job.get("split", LEGACY_SPLIT),
                    **{k: job[k] for k in ("padding", "conv_type", "background")}}
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
    """Wide Table 1: one row per (split, padding, conv type), splits in first-seen order;
    ``{background}_{metric}_{mean,std}`` columns."""
    if "split" not in df:
        df = df.assign(split=LEGACY_SPLIT)
    order = {p: i for i, p in enumerate(PADDINGS)}
    conv_order = {c: i for i, c in enumerate(FCONV)}
    split_order = {s: i for i, s in enumerate(dict.fromkeys(df["split"]))}
    backgrounds = list(dict.fromkeys(df["background"]))
    rows = []
    groups = df.groupby(["split", "padding", "conv_type"], sort=False)
    for (split, padding, conv), g in sorted(groups, key=lambda kv: (split_order[kv[0][0]], order.get(kv[0][1], 99),
                                                                    conv_order.get(kv[0][2], 99))):
        row = {"split": split, "padding": padding, "conv_type": conv, "fconv": FCONV.get(conv, conv)}
        for bg in backgrounds:
            s = g[g["background"] == bg]
            row[f"{bg}_trials"] = len(s)
            for m in ("similar", "dissimilar", "inconsistency"):
                row[f"{bg}_{m}_mean"] = s[m].mean() if len(s) else math.nan
                row[f"{bg}_{m}_std"] = s[m].std(ddof=0) if len(s) else math.nan
            row[f"{bg}_diff"] = row[f"{bg}_dissimilar_mean"] - row[f"{bg}_similar_mean"]
        rows.append(row)
    return pd.DataFrame(rows)


def splits_of(t: pd.DataFrame) -> list[str]:
    """The split protocols of a Table 1 frame, in row order (the first is the paper's table)."""
    return list(dict.fromkeys(t["split"])) if "split" in t else [LEGACY_SPLIT]


def split_rows(t: pd.DataFrame, split: str) -> pd.DataFrame:
    return (t[t["split"] == split] if "split" in t else t).reset_index(drop=True)


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


def _tabular(t: pd.DataFrame, bgs: list[str]) -> list[str]:
    """One booktabs tabular of ``t``'s rows (one split), marks computed on these rows."""
    mark = {(bg, m): marks(t[value_column(bg, m)], BETTER[m]) for bg in bgs for m in METRICS}
    n = len(METRICS)
    lines = [
        "\\begin{tabular}{ll" + "r" * n * len(bgs) + "}",
        "\\toprule",
        "Padding & F-Conv? & "
        + " & ".join(f"\\multicolumn{{{n}}}{{c}}{{{bg.capitalize()} Background}}" for bg in bgs) + " \\\\",
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
    return lines + ["\\bottomrule", "\\end{tabular}"]


def table1_latex(t: pd.DataFrame) -> str:
    """Booktabs LaTeX in the paper's layout, with the green/red marks: the first split's table
    (the paper's Table 1), then, after a ``% Robustness: split <name>`` comment with its
    caption text in a comment, one more tabular per further split."""
    bgs = backgrounds_of(t)
    splits = splits_of(t)
    lines = [PREAMBLE.rstrip("\n"),
             f"% Split: {splits[0]} ({SPLIT_CAPTIONS.get(splits[0], 'split protocol ' + splits[0])})"]
    lines += _tabular(split_rows(t, splits[0]), bgs)
    for split in splits[1:]:
        lines += [
            "",
            f"% Robustness: split {split}",
            f"% Caption: Table 1 under split protocol {split}: {SPLIT_CAPTIONS.get(split, 'split protocol ' + split)}.",
            *_tabular(split_rows(t, split), bgs),
        ]
    return "\n".join(lines) + "\n"
