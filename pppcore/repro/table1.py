"""Table 1 of the paper (the BHV test on black and grey backgrounds): CSV + booktabs LaTeX,
and the paper's Table 1 claims judged on it (:func:`bhv_claims`).

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
from .claims import NA, claim_row
from .paper import paper_bhv, paper_table1

METRICS = ("similar", "dissimilar", "diff", "inconsistency")
# How each column ranks: larger is better, smaller is better, or closer to zero is better.
BETTER = {"similar": "high", "dissimilar": "high", "diff": "zero", "inconsistency": "low"}
HEADERS = {"similar": "Similar (\\%)", "dissimilar": "Dissimilar (\\%)", "diff": "Diff (\\%)", "inconsistency": "Inconsistency (\\%)"}
FCONV = {"same": "N", "full": "Y", "valid": "-"}
PREAMBLE = "% Needs \\usepackage{booktabs} and \\usepackage{xcolor} (green/red marks).\n"
# A result without a split is from before split protocols existed: its splits had their own streams.
LEGACY_SPLIT = "independent"
SPLIT_CAPTIONS = {
    "original": "the paper's protocol (the original code's): validation and similar test sets are the first training images",
    "independent": "validation and test sets drawn from their own random streams, unseen in training (a deviation from the paper's protocol)",
}


def collect(json_paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per (split, network, background, trial) from the BHV job JSONs (split
    :data:`LEGACY_SPLIT` when a JSON has none)."""
    rows = []
    for path in json_paths:
        job = read_json(path)
        try:
            head = {"split": job.get("split", LEGACY_SPLIT), **{k: job[k] for k in ("padding", "conv_type", "background")}}
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
    for (split, padding, conv), g in sorted(groups, key=lambda kv: (split_order[kv[0][0]], order.get(kv[0][1], 99), conv_order.get(kv[0][2], 99))):
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
    return lines + ["\\bottomrule", "\\end{tabular}"]


def table1_latex(t: pd.DataFrame) -> str:
    """Booktabs LaTeX in the paper's layout, with the green/red marks: the first split's table
    (the paper's Table 1), then, after a ``% Robustness: split <name>`` comment with its
    caption text in a comment, one more tabular per further split."""
    bgs = backgrounds_of(t)
    splits = splits_of(t)
    lines = [PREAMBLE.rstrip("\n"), f"% Split: {splits[0]} ({SPLIT_CAPTIONS.get(splits[0], 'split protocol ' + splits[0])})"]
    lines += _tabular(split_rows(t, splits[0]), bgs)
    for split in splits[1:]:
        lines += [
            "",
            f"% Robustness: split {split}",
            f"% Caption: Table 1 under split protocol {split}: {SPLIT_CAPTIONS.get(split, 'split protocol ' + split)}.",
            *_tabular(split_rows(t, split), bgs),
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- claims

SECTION = "3.2, Table 1"
BHV_LEARNED = 75.0  # similar accuracy (%) a network must reach to count as trained (binary task: chance 50 %)
BHV_INCONSISTENT = 10.0  # trajectory inconsistency (%) that counts as position-inconsistent
# claim text -> (id, the paper's sentence)
BHV_CLAIMS = {
    "Grey removes F-Conv zeros' dissimilar advantage": (
        "bhv/grey-removes-zeros",
        "In Table 1, we show that the dissimilar test is no longer in favor of F-Conv zeros after changing the background color to grey."),
    "F-Conv replicate and F-Conv circular are best on grey (dissimilar)": (
        "bhv/replicate-circular-best",
        "We also show that F-Conv replicate and F-Conv circular perform best on the dissimilar test, which is different from the original observation."),
    "Every network is position-inconsistent, even without padding": (
        "bhv/inconsistent",
        "Table 1 shows the inconsistent ratio over 228 uniformly sampled trajectories, where all models maintain high inconsistency rates, "
        "even with a no-padding architecture."),
}


def _net(t: pd.DataFrame, padding: str, conv: str) -> pd.Series | None:
    if t.empty or "padding" not in t:
        return None
    hit = t[(t["padding"] == padding) & (t["conv_type"] == conv)]
    return None if hit.empty else hit.iloc[0]


def _has(t: pd.DataFrame, bg: str) -> bool:
    return f"{bg}_trials" in t and bool((t[f"{bg}_trials"].fillna(0) > 0).any())


def _name(r: pd.Series) -> str:
    return f"({r['padding']}, {r['conv_type']})"


def _ran(r: pd.Series, bg: str) -> bool:
    return not (pd.isna(r.get(f"{bg}_trials")) or r[f"{bg}_trials"] <= 0 or pd.isna(r.get(f"{bg}_dissimilar_mean")))


def _unlearned(rows: list[tuple[pd.Series, str]]) -> list[str]:
    """``(row, background)`` pairs whose similar accuracy mean is below :data:`BHV_LEARNED`."""
    return [f"{_name(r)} {bg} similar {r[f'{bg}_similar_mean']:.2f} %" for r, bg in rows if not r[f"{bg}_similar_mean"] >= BHV_LEARNED]


def _missing(t: pd.DataFrame, split: str, nets: list[tuple[str, str]], bgs: list[str]) -> str:
    """Why a claim cannot be judged: the rows and backgrounds this split lacks ("" if none)."""
    gone = [f"({p}, {c})" for p, c in nets if _net(t, p, c) is None]
    gone += [f"background {bg}" for bg in bgs if not _has(t, bg)]
    gone += [f"({p}, {c}) on {bg}" for p, c in nets for bg in bgs if _has(t, bg) and _net(t, p, c) is not None and not _ran(_net(t, p, c), bg)]
    return f"split {split} lacks " + ", ".join(gone) if gone else ""


def _bhv_row(claim: str, paper: str, ours: str, reading: str, verdict: str, why: str) -> dict:
    """A claims-table row of a Table 1 claim: its id and the paper's sentence, no size (the BHV
    test has none)."""
    claim_id, sentence = BHV_CLAIMS[claim]
    return claim_row(claim_id, SECTION, claim, sentence, paper, ours, reading, NA, verdict, NA, why)


def bhv_claims(table: pd.DataFrame, scale: str | None = None) -> list[dict]:
    """The paper's Table 1 claims (Sec 3.2), judged on the first split of ``table`` (Table 1
    as written by :func:`table1`, e.g. its CSV read back). ``scale`` is unused, kept for old
    callers: the claims table states the scale once, not per row."""
    split = splits_of(table)[0] if len(table) else LEGACY_SPLIT
    t = split_rows(table, split)
    learned = f"networks count as trained at similar accuracy mean >= {BHV_LEARNED:g} % (binary task, chance 50 %)"
    dis_reading = f"BHV dissimilar accuracy, split {split}"
    rows = []

    # a. Grey removes F-Conv zeros' dissimilar advantage.
    claim = "Grey removes F-Conv zeros' dissimilar advantage"
    paper = (f"black {paper_bhv('zeros', 'full', 'black', 'dissimilar'):.2f} -> "
             f"grey {paper_bhv('zeros', 'full', 'grey', 'dissimilar'):.2f} (F-Conv zeros dissimilar %)")
    rule = "holds if F-Conv zeros' dissimilar mean is lower on grey than on black and it is not the best F-Conv row on grey"
    missing = _missing(t, split, [("zeros", "full")], ["black", "grey"])
    fconv = [r for _, r in t[t["conv_type"] == "full"].iterrows() if _ran(r, "grey")]
    if not missing and len(fconv) < 2:
        missing = f"split {split} has no other F-Conv row on grey to compare with"
    if missing:
        rows.append(_bhv_row(claim, paper, "--", dis_reading, "not run", f"{missing}; {rule}"))
    else:
        z = _net(t, "zeros", "full")
        best = max(fconv, key=lambda r: r["grey_dissimilar_mean"])
        ours = (f"black {z['black_dissimilar_mean']:.2f} -> grey {z['grey_dissimilar_mean']:.2f}; "
                f"best grey F-Conv {best['padding']} {best['grey_dissimilar_mean']:.2f}")
        low = _unlearned([(z, "black"), *((r, "grey") for r in fconv)])
        if low:
            rows.append(_bhv_row(claim, paper, ours, dis_reading, "not testable at this scale", f"not trained: {', '.join(low)}; {learned}"))
        else:
            others = [r["grey_dissimilar_mean"] for r in fconv if r["padding"] != "zeros"]
            ok = z["grey_dissimilar_mean"] < z["black_dissimilar_mean"] and max(others) > z["grey_dissimilar_mean"]
            rows.append(_bhv_row(claim, paper, ours, dis_reading, "holds" if ok else "does not hold", f"{rule}; {learned}"))

    # b. F-Conv replicate and F-Conv circular are the best two rows on grey (dissimilar).
    claim = "F-Conv replicate and F-Conv circular are best on grey (dissimilar)"
    paper = ", ".join(f"{p} {paper_bhv(p, 'full', 'grey', 'dissimilar'):.2f}" for p in ("replicate", "circular")) + ": the two best rows"
    rule = "holds if they have the two highest grey dissimilar means among all rows (ties with a third row do not count)"
    pair = [("replicate", "full"), ("circular", "full")]
    ran = [r for _, r in t.iterrows() if _ran(r, "grey")]
    missing = _missing(t, split, pair, ["grey"])
    if not missing and len(ran) < 3:
        missing = f"split {split} has no third row on grey to rank against"
    if missing:
        rows.append(_bhv_row(claim, paper, "--", dis_reading, "not run", f"{missing}; {rule}"))
    else:
        ranked = sorted(ran, key=lambda r: -r["grey_dissimilar_mean"])
        rep, cir = (_net(t, p, c) for p, c in pair)
        ours = (f"replicate {rep['grey_dissimilar_mean']:.2f}, circular {cir['grey_dissimilar_mean']:.2f}; top two: "
                + ", ".join(f"{_name(r)} {r['grey_dissimilar_mean']:.2f}" for r in ranked[:2]))
        low = _unlearned([(r, "grey") for r in ran])
        if low:
            rows.append(_bhv_row(claim, paper, ours, dis_reading, "not testable at this scale", f"not trained: {', '.join(low)}; {learned}"))
        else:
            pair_min = min(rep["grey_dissimilar_mean"], cir["grey_dissimilar_mean"])
            rest = [r["grey_dissimilar_mean"] for r in ran if (r["padding"], r["conv_type"]) not in pair]
            ok = pair_min > max(rest)
            rows.append(_bhv_row(claim, paper, ours, dis_reading, "holds" if ok else "does not hold", f"{rule}; {learned}"))

    # c. Every network is position-inconsistent, even the one without padding.
    claim = "Every network is position-inconsistent, even without padding"
    lowest = min(r["value"] for r in paper_table1() if r["metric"] == "inconsistency")
    paper = (f"no padding {paper_bhv('none', 'valid', 'black', 'inconsistency'):.2f} (black), "
             f"{paper_bhv('none', 'valid', 'grey', 'inconsistency'):.2f} (grey); every row >= {lowest:.0f} %")
    rule = f"holds if the no-padding network's inconsistency mean is >= {BHV_INCONSISTENT:g} % on every background"
    reading = f"BHV trajectory inconsistency, split {split}"
    bgs = [bg for bg in backgrounds_of(t) if _has(t, bg)]
    none = _net(t, "none", "valid")
    missing = _missing(t, split, [("none", "valid")], bgs) if bgs else f"split {split} has no background with trials"
    if missing:
        rows.append(_bhv_row(claim, paper, "--", reading, "not run", f"{missing}; {rule}"))
    else:
        values = {bg: none[f"{bg}_inconsistency_mean"] for bg in bgs}
        ours = "no padding " + ", ".join(f"{v:.2f} ({bg})" for bg, v in values.items())
        ok = all(v >= BHV_INCONSISTENT for v in values.values())
        rows.append(_bhv_row(claim, paper, ours, reading, "holds" if ok else "does not hold", rule))
    return rows
