"""The paper's claims, each judged on this run: the ``claims`` table (CSV, Markdown, LaTeX and
the report's front page).

One row per claim instance of the paper (column ``id``, e.g. ``train-snr/vgg19/zeros``), with
the paper's own sentence, its number, ours and a verdict (:data:`VERDICTS`) judged under the
*primary reading* (the SNR reading :mod:`.reading_fit` picks) at the *primary size* (the first
of config ``ppp.input_sizes``). One more column per SNR reading and measured size,
``<reading>@<size>``, holds the verdict there, so a reader sees which verdicts hang on the
reading of Eq. 4's sigma or on the input size. A claim with a fixed reading (MAE-PPP / mean|A|,
MAE-PPP, the zero-PPP test) repeats its verdict at a size across the reading columns; a claim
with no size (the BHV test) has its verdict in the primary column and ``--`` elsewhere.

A claim is "not testable at this scale" when the run cannot decide it (the model did not learn
its task, a reading is undefined on every seed, too few checkpoints) and "not run" when the
run lacks what it needs (an arch, a padding); ``why`` says which. Thresholds are stated in the
claim's text; nothing is tuned to make a claim hold. The run's scale is stated once, in the
header of each rendering, not per row.
"""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from ..metrics import SNR_READINGS, ZERO_PPP_REL, check_reading
from .paper import paper_bhv, paper_table1, paper_table2, paper_value
from .table1 import LEGACY_SPLIT, backgrounds_of, split_rows, splits_of

VERDICTS = ("holds", "does not hold", "not testable at this scale", "not run")
UNDECIDED = VERDICTS[2:]
NOT_TESTABLE = VERDICTS[2]
NA = "--"
COLUMNS = ("id", "section", "claim", "paper_sentence", "paper", "ours", "reading", "size", "verdict", "seeds", "why")
PAPER_ARCHS = ("vgg19", "resnet50", "efficientnet_b0", "vgg16")
# A model learned its task when the mean score of its trained seeds reaches this bar: the
# paper's models reach 72-77 % top-1 on 1000 classes, while the tiny run's barely trained
# ResNet50 sits at 28-32 % on 10 classes (2-3 x chance). Saliency: weighted F (empty mask: 0).
LEARNED = {"top1": 0.5, "weighted_f": 0.5}
LEARNED_RULE = ("judged only where this (arch, padding) learned: mean top-1 >= 50 % or weighted F >= 0.5 "
                "over its trained seeds")
MAE_REL = "MAE-PPP / mean|A| (mae_rel, scale-free)"
# The paper's own sentences, quoted (tests check them against the paper's text).
SENTENCES = {
    "train-snr": "In Table 2, the PPP-SNR of the VGG19 and ResNet50 also reflects that the response of PPP is "
                 "significantly strengthened after model training.",
    "train": "That is, the model training has substantial effects on the construction of PPP.",
    "vgg-init-zero": "Although certain paddings seem to have lower SNR-PPP or MAE-PPP on trained networks, "
                     "we find the differences are not significant when comparing the extremely low SNR-PPP and "
                     "MAE-PPP from the randomly initialized networks.",
    "fig5": "All curves consistently show a sudden surge at the early stage, and all the later layers are slowly "
            "but steadily gaining stronger PPP until the end of training.",
    "spread": "Our PPP metrics have significantly lower standard deviations compared to PosENet, "
              "where the standard deviation dominates the differences between padding variants, "
              "and thus the quantities from PosENet cannot provide sufficient information for any analysis.",
    "none": "Furthermore, PosENet frequently reports positive SPC responses from no-padding models, "
            "as shown in its large standard deviation. In contrast, PPP has zero response to no-padding models "
            "by definition, and therefore is less biased for measuring the positional information from padding.",
}


def claim_row(claim_id: str, section: str, claim: str, paper_sentence: str, paper: str, ours: str, reading: str,
              size: int | str, verdict: str, seeds: str = NA, why: str = "") -> dict[str, object]:
    """One claims-table row (without its per-reading columns); refuses an unknown verdict."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r}; expected one of {VERDICTS}")
    return dict(zip(COLUMNS, (claim_id, section, claim, paper_sentence, paper, ours, reading, size, verdict, seeds,
                              why), strict=True))


@dataclass(frozen=True)
class Judged:
    """A verdict and what it rests on, at one (reading, size)."""

    verdict: str
    ours: str = NA
    why: str = ""
    seeds: str = NA


# (rows of one measurement size, reading) -> verdict
Judge = Callable[[pd.DataFrame, str], Judged]


@dataclass(frozen=True)
class Claim:
    """One claim instance of the paper. ``text`` may name ``{reading}``, the reading it is judged
    under; ``reading`` fixes it (None: judged under every SNR reading)."""

    id: str
    section: str
    text: str
    sentence: str
    paper: str
    judge: Judge
    reading: str | None = None


# ---------------------------------------------------------------------------- helpers


def _last(df: pd.DataFrame) -> pd.DataFrame:
    """The rows at the last layer of interest (LoI 4)."""
    return df[df["loi_index"] == df["loi_index"].max()]


def _of(df: pd.DataFrame, arch: str, padding: str | None = None) -> pd.DataFrame:
    hit = df["arch"] == arch
    return df[hit if padding is None else hit & (df["padding"] == padding)]


def _per_seed(g: pd.DataFrame, epoch: int, reading: str) -> pd.Series:
    return g[g["epoch"] == epoch].groupby("seed")[reading].mean()


def _paper_pair(arch: str, padding: str, metric: str) -> str:
    a, b = paper_value(arch, padding, "init", metric), paper_value(arch, padding, "trained", metric)
    return NA if a is None or b is None else f"{a:.4f} -> {b:.4f}"


def _paper_pm(arch: str, padding: str, stage: str, metric: str) -> str:
    """The paper's Table 2 cell as printed: mean ± std."""
    r = next(r for r in paper_table2()
             if (r["arch"], r["padding"], r["stage"], r["metric"]) == (arch, padding, stage, metric))
    return f"{r['value']:.3f} ± {r['std']:.3f}"


def _paper_rows(archs: Iterable[str]) -> list[tuple[str, str]]:
    """The paper's Table 2 (arch, padding) rows for ``archs``, in the paper's order."""
    keep = set(archs)
    return [k for k in dict.fromkeys((r["arch"], r["padding"]) for r in paper_table2()) if k[0] in keep]


def _rises(arch: str, padding: str, metric: str) -> bool:
    """Whether the paper's own ``metric`` rises from init to trained (where it makes the claim)."""
    a, b = paper_value(arch, padding, "init", metric), paper_value(arch, padding, "trained", metric)
    return a is not None and b is not None and b > a


def _share(x: float, metric: str) -> str:
    return ("unknown" if math.isnan(x) else f"{x:.0%}".replace("%", " %")) if metric == "top1" else f"{x:.3g}"


def learned(df: pd.DataFrame, arch: str, padding: str, final_epoch: int) -> tuple[bool, str]:
    """Whether ``arch`` with ``padding`` learned its task: the mean over its trained seeds of
    top-1 (or weighted F) reaches :data:`LEARNED`. Per padding: a claim about one padding
    needs that padding's models to have learned, not every padding's."""
    s = _of(df, arch, padding)
    s = s[s["epoch"] == final_epoch]
    if s.empty:
        return False, f"no trained checkpoint (epoch {final_epoch})"
    metric = s["performance_metric"].iloc[0]
    score = float(s.groupby("seed")["performance"].first().mean())
    bar, name = LEARNED[metric], "top-1" if metric == "top1" else "weighted F"
    ok = score >= bar
    return ok, f"{name} {_share(score, metric)} {'>=' if ok else '<'} {_share(bar, metric)}"


def _change(init: pd.Series, trained: pd.Series) -> str:
    return f"{init.mean():.3g} -> {trained.mean():.3g}"


# ---------------------------------------------------------------------------- 4.1: training strengthens PPP


def judge_training(sub: pd.DataFrame, reading: str, *, arch: str, padding: str, final_epoch: int) -> Judged:
    """Trained > init at LoI 4 on every seed, paired; a seed whose reading is undefined (NaN) at
    init or trained is left out, never read as 0."""
    g = _of(_last(sub), arch, padding)
    init, trained = _per_seed(g, 0, reading), _per_seed(g, final_epoch, reading)
    seeds = init.index.intersection(trained.index)
    if not len(seeds):
        return Judged("not run", why=f"no init / trained (epoch {final_epoch}) pair of {arch} {padding} in the run")
    init, trained = init[seeds], trained[seeds]
    paired = seeds[(init.notna() & trained.notna()).to_numpy()]
    ours = _change(init[paired], trained[paired]) if len(paired) else _change(init, trained)
    ok, score = learned(sub, arch, padding, final_epoch)
    if not ok:
        return Judged(NOT_TESTABLE, ours, f"did not learn: {score}")
    if not len(paired):
        return Judged(NOT_TESTABLE, ours,
                      f"{reading} undefined (NaN, degenerate sigma) at init or trained on all {len(seeds)} seeds")
    up = int((trained[paired] > init[paired]).sum())
    why = f"trained > init on {up} of {len(paired)} seeds (paired, LoI 4); learned: {score}"
    if dropped := len(seeds) - len(paired):
        why += f"; {dropped} seed(s) left out: {reading} undefined (NaN) at init or trained"
    return Judged("holds" if up == len(paired) else "does not hold", ours, why, f"{up}/{len(paired)} seeds")


TRAIN_KINDS = {  # kind -> (the paper's metric, the fixed reading or None, what the text calls it)
    "snr": ("snr_ppp", None, "SNR-PPP under {reading}"),
    "mae": ("mae_ppp", "mae_rel", MAE_REL),
}


def training_claims(archs: Iterable[str], final_epoch: int, kind: str) -> list[Claim]:
    """Sec 4.1 / Table 2, one claim per (arch, padding) where the paper's own number rises:
    ``snr`` judged under the SNR readings, ``mae`` under the scale-free MAE-PPP / mean|A|."""
    metric, reading, what = TRAIN_KINDS[kind]
    claims = []
    for arch, padding in _paper_rows(archs):
        if padding == "none" or not _rises(arch, padding, metric):
            continue
        text = (f"Training strengthens PPP: {what} trained > init at LoI 4 on every seed, paired ({arch}, {padding}); "
                f"{LEARNED_RULE}")
        sentence = SENTENCES["train-snr" if kind == "snr" and arch in ("vgg19", "resnet50") else "train"]
        paper = ("SNR-PPP " if kind == "snr" else "MAE-PPP ") + _paper_pair(arch, padding, metric)
        judge = partial(judge_training, arch=arch, padding=padding, final_epoch=final_epoch)
        claims.append(Claim(f"train-{kind}/{arch}/{padding}", "4.1, Table 2", text, sentence, paper, judge, reading))
    return claims


# ------------------------------------------------------------------------ 4.2: a random VGG has zero PPP but for zeros


def judge_vgg_init(sub: pd.DataFrame, reading: str, *, arch: str) -> Judged:
    """Every non-zeros padding zero-PPP at init on every seed, by the metric's own test
    (``zero_ppp``: MAE-PPP <= ZERO_PPP_REL x mean|A|, which also zeroes every SNR reading)."""
    g = _of(_last(sub), arch)
    g = g[g["epoch"] == 0]
    others = g[~g["padding"].isin(("zeros", "none"))]
    if others.empty:
        return Judged("not run", why=f"needs {arch} at init with a padding other than zeros and none")
    zero, n = (others.groupby("padding", sort=False)["zero_ppp"].sum().astype(int),
               others.groupby("padding", sort=False).size())
    worst = others[~others["zero_ppp"].astype(bool)].groupby("padding")[reading].max()
    parts = [f"{p} {zero[p]}/{n[p]} seeds zero" + (f" ({reading} up to {worst[p]:.2g})" if p in worst else "")
             for p in n.index]
    zeros = g.loc[g["padding"] == "zeros", reading]
    parts = ([f"zeros {reading} {zeros.mean():.2g}"] if len(zeros) else []) + parts
    kind = ", ".join(sorted(set(g["init"]))) + " init, BN " + ", ".join(sorted(set(g["bn_stats"])))
    why = (f"zero PPP: MAE-PPP <= {ZERO_PPP_REL:g} x mean|A| "
           f"(pppcore.metrics.is_zero_ppp, the test that sets every SNR reading to 0); {kind}")
    verdict = "holds" if zero.sum() == n.sum() else "does not hold"
    return Judged(verdict, "; ".join(parts), why, f"{zero.sum()}/{n.sum()} (padding, seed)")


def _paper_init_zero(arch: str) -> str:
    paddings = [p for a, p in _paper_rows([arch]) if p not in ("zeros", "none")]
    zeros = (f"zeros MAE-PPP {paper_value(arch, 'zeros', 'init', 'mae_ppp'):.4f}, "
             f"SNR-PPP {paper_value(arch, 'zeros', 'init', 'snr_ppp'):.4f}")
    printed = [p for p in paddings
               if paper_value(arch, p, "init", "mae_ppp") == 0 == paper_value(arch, p, "init", "snr_ppp")]
    return f"Table 2 at init: {zeros}; {', '.join(printed)}: 0.0000 for both"


def vgg_init_claims(archs: Iterable[str]) -> list[Claim]:
    """Table 2: a randomly initialised VGG has zero PPP under every padding but zeros."""
    text = ("At init, every padding but zeros (and none) has zero PPP at LoI 4 on every seed: "
            f"MAE-PPP <= {ZERO_PPP_REL:g} x mean|A|, "
            "the metric's zero-PPP test ({arch})")
    return [Claim(f"vgg-init-zero/{arch}", "4.2, Table 2", text.replace("{arch}", arch), SENTENCES["vgg-init-zero"],
                  _paper_init_zero(arch), partial(judge_vgg_init, arch=arch), "mae_rel")
            for arch in ("vgg19", "vgg16") if arch in set(archs)]


# ---------------------------------------------------------------------------- 4.3: chronological PPP


def _learned_paddings(sub: pd.DataFrame, arch: str, paddings: Iterable[str], final_epoch: int) -> tuple[list[str], str]:
    """(paddings that learned, "padding (score); ..." of those left out)."""
    gates = {p: learned(sub, arch, p, final_epoch) for p in paddings}
    return [p for p, (ok, _) in gates.items() if ok], "; ".join(f"{p} ({why})"
                                                                for p, (ok, why) in gates.items() if not ok)


def judge_fig5(sub: pd.DataFrame, reading: str, *, arch: str, final_epoch: int) -> Judged:
    """Per (padding, seed) curve at LoI 4: surge init -> first checkpoint > 0 and growth first ->
    last > 0 on every curve, and the surge larger than the growth on the mean."""
    g = _of(_last(sub), arch)
    g = g[g["padding"] != "none"]
    if g.empty:
        return Judged("not run", why=f"no padded {arch} in the run")
    epochs = sorted(int(e) for e in g["epoch"].unique())
    if len(epochs) < 3 or final_epoch not in epochs:
        return Judged(NOT_TESTABLE,
                      why=f"checkpoints {epochs}; needs init, an early one and the last (epoch {final_epoch})")
    kept, left = _learned_paddings(sub, arch, dict.fromkeys(g["padding"]), final_epoch)
    if not kept:
        return Judged(NOT_TESTABLE, why=f"did not learn, no padding of {arch}: {left}")
    e0, e1 = epochs[0], epochs[1]
    wide = g[g["padding"].isin(kept)].groupby(["padding", "seed", "epoch"])[reading].mean().unstack("epoch")
    curves = wide[[e0, e1, final_epoch]].dropna()
    if curves.empty:
        return Judged(NOT_TESTABLE, why=f"{reading} undefined (NaN) on every curve")
    surge, growth = curves[e1] - curves[e0], curves[final_epoch] - curves[e1]
    k, n = int(((surge > 0) & (growth > 0)).sum()), len(curves)
    ours = (f"e{e0} {curves[e0].mean():.3g} -> e{e1} {curves[e1].mean():.3g} "
            f"-> e{final_epoch} {curves[final_epoch].mean():.3g}")
    why = (f"surge {surge.mean():+.3g}, then growth {growth.mean():+.3g} (means over {n} (padding, seed) curves); "
           f"both > 0 on {k} of {n}")
    if dropped := len(wide) - n:
        why += f"; {dropped} curve(s) left out: {reading} undefined (NaN)"
    if left:
        why += f"; left out, did not learn: {left}"
    return Judged("holds" if k == n and surge.mean() > growth.mean() else "does not hold", ours, why, f"{k}/{n} curves")


def fig5_claims(archs: Iterable[str], final_epoch: int) -> list[Claim]:
    """Fig 5, per arch: under the SNR readings (``fig5/``) and under MAE-PPP / mean|A|
    (``fig5-mae/``); both scale-free, unlike raw MAE-PPP, which follows the feature scale."""
    claims = []
    for arch in archs:
        for prefix, what, reading in (("fig5", "SNR-PPP under {reading}", None), ("fig5-mae", MAE_REL, "mae_rel")):
            text = (f"Chronological PPP, {what}: init -> first checkpoint rises and first -> last checkpoint rises "
                    f"on every (padding, seed) curve, the first step larger on the mean (LoI 4, {arch}); "
                    f"{LEARNED_RULE}, the others left out")
            paper = "Fig 5: a sudden surge at the early stage, then slow, steady growth to the end (all curves)"
            judge = partial(judge_fig5, arch=arch, final_epoch=final_epoch)
            claims.append(Claim(f"{prefix}/{arch}", "4.3, Fig 5", text, SENTENCES["fig5"], paper, judge, reading))
    return claims


# ---------------------------------------------------------------------------- 4.2: spread and no padding


def _dominance(means: pd.Series, stds: pd.Series) -> float:
    """Mean std over the paddings' spread of means: > 1 means the std dominates the differences."""
    spread = means.max() - means.min()
    return math.inf if spread == 0 else float(stds.mean() / spread)


def judge_spread(sub: pd.DataFrame, reading: str, *, arch: str, posenet: pd.DataFrame | None,
                 final_epoch: int) -> Judged:
    """PPP's std over seeds is small against the paddings' differences, PosENet's (over seeds x
    trials) dominates them. Scale-free: std / spread of the paddings' means."""
    g = _of(_last(sub), arch)
    g = g[(g["epoch"] == final_epoch) & (g["padding"] != "none")]
    by = g.groupby("padding")[reading]
    if g["seed"].nunique() < 2 or by.ngroups < 2:
        return Judged(NOT_TESTABLE, why=f"needs >= 2 seeds and >= 2 paddings of trained {arch}")
    d_ppp = _dominance(by.mean(), by.std(ddof=0))
    p = None if posenet is None else posenet[(posenet["arch"] == arch) & (posenet["epoch"] == final_epoch)
                                             & (posenet["padding"] != "none")]
    if p is None or p.empty:
        return Judged("not run", f"PPP {d_ppp:.3g}", "no PosENet results")
    pb = p.groupby("padding")["spc"]
    d_pos = _dominance(pb.mean(), pb.std(ddof=0))
    why = "std / (max - min of the paddings' means); > 1: the std dominates the differences"
    return Judged("holds" if d_ppp < d_pos else "does not hold", f"PPP {d_ppp:.3g}, PosENet {d_pos:.3g}", why)


def spread_claims(archs: Iterable[str], posenet: pd.DataFrame | None, final_epoch: int) -> list[Claim]:
    text = ("PPP varies less than PosENet: std over seeds / spread of the paddings' means is lower for MAE-PPP "
            "than for PosENet SPC, trained ({arch})")
    paper = "Table 2: PosENet's std over 5 trials dominates the padding differences; PPP's std is much lower"
    return [Claim(f"spread/{arch}", "4.2, Table 2", text.replace("{arch}", arch), SENTENCES["spread"], paper,
                  partial(judge_spread, arch=arch, posenet=posenet, final_epoch=final_epoch), "mae_ppp")
            for arch in archs]


def judge_none(sub: pd.DataFrame, reading: str, *, posenet: pd.DataFrame | None) -> Judged:
    """A padding-free model's PPP is exactly 0 at every checkpoint and LoI."""
    g = sub[sub["padding"] == "none"]
    if g.empty:
        return Judged("not run", why="padding none is not in the run")
    peak = float(g[reading].abs().max())
    spc = math.nan if posenet is None else float(posenet.loc[posenet["padding"] == "none", "spc"].abs().max())
    ours = (f"max MAE-PPP {peak:g} over {len(g)} readings"
            + ("" if math.isnan(spc) else f"; PosENet max abs(SPC) {spc:.3g}"))
    return Judged("holds" if peak == 0 else "does not hold", ours,
                  "holds if MAE-PPP is exactly 0 at every checkpoint and LoI")


def none_claims(posenet: pd.DataFrame | None) -> list[Claim]:
    text = "No padding gives PPP exactly 0 (MAE-PPP = 0 at every checkpoint and LoI), while PosENet may still respond"
    archs = [a for a, p in _paper_rows(PAPER_ARCHS) if p == "none"]
    spc = "; ".join(f"{a} {_paper_pm(a, 'none', 'init', 'posenet_spc')} -> "
                    f"{_paper_pm(a, 'none', 'trained', 'posenet_spc')}" for a in archs)
    paper = f"PPP 0 by definition (Table 2: 0.0000); PosENet SPC of the no-padding models, init -> trained: {spc}"
    return [Claim("none", "4.2, Table 2", text, SENTENCES["none"], paper, partial(judge_none, posenet=posenet),
                  "mae_ppp")]


def missing_archs(archs: Iterable[str]) -> list[Claim]:
    have = set(archs)
    return [Claim(f"all/{arch}", "Table 2", f"Every per-architecture claim for {arch}", NA, "see Table 2",
                  lambda sub, reading, arch=arch: Judged("not run", why=f"{arch} is not in train.archs"), NA)
            for arch in PAPER_ARCHS if arch not in have]


# ---------------------------------------------------------------------------- the table


def every_claim(df: pd.DataFrame, posenet: pd.DataFrame | None, final_epoch: int) -> list[Claim]:
    """Every claim instance the run is judged on, in the paper's order."""
    archs = [a for a in dict.fromkeys(df["arch"]) if a in PAPER_ARCHS]
    return [
        *training_claims(archs, final_epoch, "snr"),
        *training_claims(archs, final_epoch, "mae"),
        *vgg_init_claims(archs),
        *spread_claims(archs, posenet, final_epoch),
        *none_claims(posenet),
        *fig5_claims(archs, final_epoch),
        *missing_archs(archs),
    ]


def cell(reading: str, size: int) -> str:
    """The per-(reading, size) verdict column's name."""
    return f"{reading}@{size}"


def judge_claim(c: Claim, by_size: Mapping[int, pd.DataFrame], primary_reading: str,
                primary_size: int) -> tuple[dict, dict[str, str]]:
    """(row with every ``<reading>@<size>`` verdict, {column: why} of its undecided cells)."""
    cache: dict[tuple[int, str], Judged] = {}

    def at(size: int, reading: str) -> Judged:
        key = (size, c.reading or reading)
        if key not in cache:
            cache[key] = c.judge(by_size[size], key[1])
        return cache[key]

    main, reading = at(primary_size, primary_reading), c.reading or primary_reading
    row = claim_row(c.id, c.section, c.text.replace("{reading}", reading), c.sentence, c.paper, main.ours, reading,
                    primary_size, main.verdict, main.seeds, main.why)
    cells = {cell(r, s): at(s, r) for s in by_size for r in SNR_READINGS}
    return ({**row, **{k: j.verdict for k, j in cells.items()}},
            {k: j.why for k, j in cells.items() if j.verdict in UNDECIDED})


def _sizes(df: pd.DataFrame, primary_size: int | None) -> list[int]:
    seen = list(dict.fromkeys(int(s) for s in df["size"]))
    return seen if primary_size is None else [int(primary_size), *(s for s in seen if s != int(primary_size))]


def claims_table(
    df: pd.DataFrame,
    scale: str,
    posenet: pd.DataFrame | None = None,
    bhv_rows: Iterable[Mapping[str, object]] = (),
    final_epoch: int | None = None,
    primary_reading: str = "snr_ppp",
    primary_size: int | None = None,
) -> pd.DataFrame:
    """Every claim's row; ``df`` from :func:`.tables.collect` over every checkpoint and size.
    ``primary_size`` defaults to the first size in ``df``. ``attrs``: the run's ``scale``, the
    ``primary`` column and each row's undecided cells' ``reasons`` (for :mod:`.verdict_matrix`)."""
    check_reading(primary_reading)
    final_epoch = int(df["epoch"].max()) if final_epoch is None else final_epoch
    sizes = _sizes(df, primary_size)
    by_size = {s: df[df["size"] == s] for s in sizes}
    judged = [judge_claim(c, by_size, primary_reading, sizes[0]) for c in every_claim(df, posenet, final_epoch)]
    cells = [cell(r, s) for s in sizes for r in SNR_READINGS]
    primary = cell(primary_reading, sizes[0])
    bhv = [{**dict(r), **dict.fromkeys(cells, NA), primary: r["verdict"]} for r in bhv_rows]
    t = pd.DataFrame([row for row, _ in judged] + bhv, columns=[*COLUMNS, *cells])
    bad = set(t["verdict"]) - set(VERDICTS) | set(t[cells].to_numpy().ravel()) - {*VERDICTS, NA}
    if bad:
        raise ValueError(f"claims with an unknown verdict: {sorted(map(str, bad))}")
    t.attrs.update(scale=scale, primary=primary, reasons={row["id"]: why for row, why in judged})
    return t


def provenance(scale: str) -> str:
    """Which run this is: its scale and the code's commit (``git describe``; "unknown" outside
    a git checkout), for the Markdown table and the README that quotes it. ``PPP_CODE_COMMIT``
    names it where the run is not a checkout (benchmarks/bench_workflow.py runs a copy)."""
    commit = os.environ.get("PPP_CODE_COMMIT", "")
    try:
        commit = commit or subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                                          timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"Run: {scale}. Code: commit {commit or 'unknown'}."


def summary_line(t: pd.DataFrame) -> str:
    counts = t["verdict"].value_counts()
    return ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS)


def _primary_line(t: pd.DataFrame) -> str:
    primary = t.attrs.get("primary", "")
    return (f"Verdicts at {primary.replace('@', ' at ')} px (the primary reading and size); "
            "the verdict under every other SNR reading and size: the columns named reading@size of claims.csv "
            "and figures/verdict_matrix.png.")


def claims_markdown(t: pd.DataFrame, provenance: str = "") -> str:
    """Markdown: the run (scale, commit, primary reading) once, then one row per claim."""
    esc = t[list(COLUMNS)].astype(str).apply(lambda c: c.str.replace("|", "\\|", regex=False))
    lines = ["# Claims of the paper, judged on this run", ""]
    if provenance:
        lines += [provenance, ""]
    lines += [f"Verdicts: {summary_line(t)}. {_primary_line(t)}", "", "| " + " | ".join(COLUMNS) + " |",
              "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in esc.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def rst_text(x: object) -> str:
    """Plain text safe in reStructuredText and in Snakemake's Jinja: inline-markup characters
    escaped (``|A|`` would be a substitution), braces spelled as parentheses."""
    text = str(x).replace("\\", "\\\\")
    for ch in "|*`_":
        text = text.replace(ch, "\\" + ch)
    return text.replace("{", "(").replace("}", ")")


def claims_rst(t: pd.DataFrame, intro: str, provenance: str = "") -> str:
    """The HTML report's front page: ``intro`` (report/workflow.rst), the run once, then a
    compact table (id, verdict, ours, paper) and where the rest is."""
    def quoted(x: object) -> str:
        return '"' + rst_text(x).replace('"', '""') + '"'

    lines = [intro.rstrip(), "", "Claims of the paper, judged on this run", "-" * 39, ""]
    if provenance:
        lines += [rst_text(provenance), ""]
    lines += [rst_text(f"Verdicts: {summary_line(t)}. {_primary_line(t)}"), "",
              rst_text("Each claim's text, the paper's sentence and why: tables/claims.csv (or claims.md). "
                       "The verdict matrix (category Claims) shows every claim under every reading and size."), ""]
    lines += [".. csv-table::", '   :header: "id", "verdict", "ours", "paper"', ""]
    lines += ["   " + ", ".join(quoted(x) for x in r)
              for r in t[["id", "verdict", "ours", "paper"]].itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _tex(s: object) -> str:
    return (str(s).replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")
            .replace("#", r"\#").replace("->", r"$\rightarrow$").replace("<=", r"$\le$").replace(">=", r"$\ge$")
            .replace("±", r"$\pm$").replace("|", r"$|$").replace(">", r"$>$").replace("<", r"$<$"))


def claims_latex(t: pd.DataFrame, header: str = "") -> str:
    """Booktabs LaTeX, the scale and ``header`` (e.g. the primary reading's rule) stated once."""
    lines = [
        r"% Claims of the paper judged on this run (claims.csv). "
        r"Needs \usepackage{booktabs} and a p-column-friendly width.",
        f"% Scale: {t.attrs.get('scale', '')}",
        *(f"% {line}" for line in header.splitlines() if line),
        f"% {_primary_line(t)}",
        r"\begin{tabular}{p{2.8cm}lp{4.2cm}p{2.4cm}p{2.4cm}llp{3.2cm}}",
        r"\toprule",
        r"Id & Section & Claim & Paper & Ours & Verdict & Seeds & Why \\",
        r"\midrule",
    ]
    for r in t.itertuples(index=False):
        lines.append(" & ".join(_tex(x) for x in (r.id, r.section, r.claim, r.paper, r.ours, r.verdict, r.seeds, r.why))
                     + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- the central claim, in one line

# The archs the central sentence names ("the PPP-SNR of the VGG19 and ResNet50").
CENTRAL_ARCHS = ("vgg19", "resnet50")


def central_rows(t: pd.DataFrame) -> pd.DataFrame:
    """The central claim's rows (``train-snr/`` of :data:`CENTRAL_ARCHS`) of a claims table."""
    return t[t["id"].astype(str).str.match(rf"train-snr/({'|'.join(CENTRAL_ARCHS)})/")]


def central_summary(t: pd.DataFrame) -> str:
    """The central claim at the primary reading and size: counts per verdict, the rows, and how
    many of their other (reading, size) cells give the same verdict."""
    rows = central_rows(t)
    if rows.empty:
        return "the central claim (train-snr, VGG19 and ResNet50) is not in this claims table"
    counts = rows["verdict"].value_counts()
    cells = rows[[c for c in t.columns if "@" in str(c)]]
    same = int(cells.eq(rows["verdict"], axis=0).to_numpy().sum()) - len(rows)  # less the primary cells themselves
    parts = "; ".join(f"{r.id.split('/', 1)[1]} {r.verdict} ({r.ours}, {r.seeds})"
                      for r in rows.itertuples(index=False) if r.verdict != "not run")
    return (f"SNR-PPP trained > init (Sec 4.1) under the primary reading {rows['reading'].iloc[0]} "
            f"at {rows['size'].iloc[0]} px: "
            + ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS if counts.get(v, 0))
            + f" of {len(rows)} (arch, padding) cells. Ours, init -> trained, mean over seeds: {parts}. "
            + f"The other readings and sizes give the same verdict in {same} of {cells.size - len(rows)} cells")


def verdict_line(run: str | os.PathLike) -> str:
    """One Markdown line on a run's central claim (Sec 4.1: training strengthens SNR-PPP, VGG19
    and ResNet50), read from ``run/claims.csv``."""
    path = Path(run) / "claims.csv"
    t = pd.read_csv(path, keep_default_na=False)
    if "id" not in t.columns:
        return f"**{Path(run).name}**: {path} predates claim ids; rerun the claims rule."
    return f"**{Path(run).name}**: {central_summary(t)}."


# ---------------------------------------------------------------------------- Table 1 (BHV) claims

BHV_SECTION = "3.2, Table 1"
BHV_LEARNED = 75.0  # similar accuracy (%) a network must reach to count as trained (binary task: chance 50 %)
BHV_INCONSISTENT = 10.0  # trajectory inconsistency (%) that counts as position-inconsistent
# claim text -> (id, the paper's sentence)
BHV_CLAIMS = {
    "Grey removes F-Conv zeros' dissimilar advantage": (
        "bhv/grey-removes-zeros",
        "In Table 1, we show that the dissimilar test is no longer in favor of F-Conv zeros "
        "after changing the background color to grey."),
    "F-Conv replicate and F-Conv circular are best on grey (dissimilar)": (
        "bhv/replicate-circular-best",
        "We also show that F-Conv replicate and F-Conv circular perform best on the dissimilar test, "
        "which is different from the original observation."),
    "Every network is position-inconsistent, even without padding": (
        "bhv/inconsistent",
        "Table 1 shows the inconsistent ratio over 228 uniformly sampled trajectories, "
        "where all models maintain high inconsistency rates, even with a no-padding architecture."),
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
    return [f"{_name(r)} {bg} similar {r[f'{bg}_similar_mean']:.2f} %" for r, bg in rows
            if not r[f"{bg}_similar_mean"] >= BHV_LEARNED]


def _missing(t: pd.DataFrame, split: str, nets: list[tuple[str, str]], bgs: list[str]) -> str:
    """Why a claim cannot be judged: the rows and backgrounds this split lacks ("" if none)."""
    gone = [f"({p}, {c})" for p, c in nets if _net(t, p, c) is None]
    gone += [f"background {bg}" for bg in bgs if not _has(t, bg)]
    gone += [f"({p}, {c}) on {bg}" for p, c in nets for bg in bgs
             if _has(t, bg) and _net(t, p, c) is not None and not _ran(_net(t, p, c), bg)]
    return f"split {split} lacks " + ", ".join(gone) if gone else ""


def _bhv_row(claim: str, paper: str, ours: str, reading: str, verdict: str, why: str) -> dict:
    """A claims-table row of a Table 1 claim: its id and the paper's sentence, no size (the BHV
    test has none)."""
    claim_id, sentence = BHV_CLAIMS[claim]
    return claim_row(claim_id, BHV_SECTION, claim, sentence, paper, ours, reading, NA, verdict, NA, why)


def bhv_claims(table: pd.DataFrame) -> list[dict]:
    """The paper's Table 1 claims (Sec 3.2), judged on the first split of ``table`` (Table 1
    as written by :func:`.table1.table1`, e.g. its CSV read back). The claims table states
    the scale once, not per row."""
    split = splits_of(table)[0] if len(table) else LEGACY_SPLIT
    t = split_rows(table, split)
    learned = f"networks count as trained at similar accuracy mean >= {BHV_LEARNED:g} % (binary task, chance 50 %)"
    dis_reading = f"BHV dissimilar accuracy, split {split}"
    rows = []

    # a. Grey removes F-Conv zeros' dissimilar advantage.
    claim = "Grey removes F-Conv zeros' dissimilar advantage"
    paper = (f"black {paper_bhv('zeros', 'full', 'black', 'dissimilar'):.2f} -> "
             f"grey {paper_bhv('zeros', 'full', 'grey', 'dissimilar'):.2f} (F-Conv zeros dissimilar %)")
    rule = ("holds if F-Conv zeros' dissimilar mean is lower on grey than on black "
            "and it is not the best F-Conv row on grey")
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
            rows.append(_bhv_row(claim, paper, ours, dis_reading, "not testable at this scale",
                                 f"not trained: {', '.join(low)}; {learned}"))
        else:
            others = [r["grey_dissimilar_mean"] for r in fconv if r["padding"] != "zeros"]
            ok = z["grey_dissimilar_mean"] < z["black_dissimilar_mean"] and max(others) > z["grey_dissimilar_mean"]
            rows.append(_bhv_row(claim, paper, ours, dis_reading, "holds" if ok else "does not hold",
                                 f"{rule}; {learned}"))

    # b. F-Conv replicate and F-Conv circular are the best two rows on grey (dissimilar).
    claim = "F-Conv replicate and F-Conv circular are best on grey (dissimilar)"
    paper = (", ".join(f"{p} {paper_bhv(p, 'full', 'grey', 'dissimilar'):.2f}" for p in ("replicate", "circular"))
             + ": the two best rows")
    rule = ("holds if they have the two highest grey dissimilar means among all rows "
            "(ties with a third row do not count)")
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
            rows.append(_bhv_row(claim, paper, ours, dis_reading, "not testable at this scale",
                                 f"not trained: {', '.join(low)}; {learned}"))
        else:
            pair_min = min(rep["grey_dissimilar_mean"], cir["grey_dissimilar_mean"])
            rest = [r["grey_dissimilar_mean"] for r in ran if (r["padding"], r["conv_type"]) not in pair]
            ok = pair_min > max(rest)
            rows.append(_bhv_row(claim, paper, ours, dis_reading, "holds" if ok else "does not hold",
                                 f"{rule}; {learned}"))

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
