"""Collect per-checkpoint PPP results and build the paper's Table 2 (CSV + booktabs LaTeX)."""

from __future__ import annotations

import json
import math
import os
from typing import Iterable

import pandas as pd

STAGES = {"init": "Init", "trained": "Trained"}


def collect(json_paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per (checkpoint, LoI) from extraction JSONs; ``loi_index`` counts from 1."""
    rows = []
    for path in json_paths:
        with open(path) as f:
            meta = json.load(f)
        cfg = meta["config"]
        for i, (layer, r) in enumerate(meta["layers"].items(), start=1):
            rows.append({
                "arch": cfg["arch"], "padding": cfg["padding"], "seed": meta.get("seed", _seed_from(path)),
                "epoch": meta.get("epoch"), "val_acc": meta.get("val_acc"), "layer": layer, "loi_index": i,
                "mae_ppp": r["mae_ppp"], "snr_ppp": math.nan if r["snr_ppp"] is None else r["snr_ppp"],
                "degenerate": r["degenerate"], "n_images": r["n_images"],
            })
    if not rows:
        raise ValueError("no PPP results to collect")
    return pd.DataFrame(rows)


def _seed_from(path: str | os.PathLike) -> int:
    """The run's seed from its path (``.../seed3/epoch_010.json``)."""
    part = next(p for p in reversed(os.fspath(path).split(os.sep)) if p.startswith("seed"))
    return int(part[4:])


def table2(df: pd.DataFrame, final_epoch: int | None = None) -> pd.DataFrame:
    """Mean and std over seeds at LoI 4 for init (epoch 0) and trained (``final_epoch``).

    PosENet columns are present (NaN) for the baselines to fill.
    """
    final_epoch = int(df["epoch"].max()) if final_epoch is None else final_epoch
    last = df[df["loi_index"] == df["loi_index"].max()]
    rows = []
    for (arch, padding), g in last.groupby(["arch", "padding"], sort=False):
        for stage, epoch in (("init", 0), ("trained", final_epoch)):
            s = g[g["epoch"] == epoch]
            rows.append({
                "arch": arch, "padding": padding, "stage": stage, "seeds": len(s),
                "posenet_spc_mean": math.nan, "posenet_spc_std": math.nan,
                "posenet_mae_mean": math.nan, "posenet_mae_std": math.nan,
                "snr_ppp_mean": s["snr_ppp"].mean(), "snr_ppp_std": s["snr_ppp"].std(ddof=0),
                "mae_ppp_mean": s["mae_ppp"].mean(), "mae_ppp_std": s["mae_ppp"].std(ddof=0),
                "degenerate": bool(s["degenerate"].any()),
                "performance_mean": 100 * s["val_acc"].mean() if stage == "trained" else math.nan,
                "performance_std": 100 * s["val_acc"].std(ddof=0) if stage == "trained" else math.nan,
            })
    return pd.DataFrame(rows)


def _pm(mean: float, std: float, digits: int = 4) -> str:
    if math.isnan(mean):
        return "--"
    return f"{mean:.{digits}f}$\\pm${std:.{digits}f}"


def table2_latex(t: pd.DataFrame) -> str:
    """Booktabs LaTeX in the paper's layout (degenerate SNR shown as ``deg.``)."""
    lines = [
        r"\begin{tabular}{lllcccccc}",
        r"\toprule",
        r"Model & Padding & Pretrained & \multicolumn{2}{c}{PosENet} & \multicolumn{2}{c}{PPP (ours)} & Performance ($\uparrow$) \\",
        r"\cmidrule(lr){4-5}\cmidrule(lr){6-7}",
        r" & & & SPC ($\uparrow$) & MAE ($\downarrow$) & SNR-PPP ($\uparrow$) & MAE-PPP ($\uparrow$) & \\",
        r"\midrule",
    ]
    for arch, g in t.groupby("arch", sort=False):
        for _, r in g.iterrows():
            snr = "deg." if r["degenerate"] and math.isnan(r["snr_ppp_mean"]) else _pm(r["snr_ppp_mean"], r["snr_ppp_std"])
            lines.append(" & ".join([
                arch.replace("_", r"\_"), r["padding"], "$\\times$" if r["stage"] == "init" else "trained",
                _pm(r["posenet_spc_mean"], r["posenet_spc_std"], 3), _pm(r["posenet_mae_mean"], r["posenet_mae_std"], 3),
                snr, _pm(r["mae_ppp_mean"], r["mae_ppp_std"]), _pm(r["performance_mean"], r["performance_std"], 2),
            ]) + r" \\")
        lines.append(r"\midrule")
    lines[-1] = r"\bottomrule"
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"
