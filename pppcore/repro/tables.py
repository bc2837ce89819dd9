"""Collect per-checkpoint PPP and PosENet results and build the paper's Table 2 (CSV + LaTeX).

Table 2 conventions (paper caption): PPP at the 4th LoI; mean +- std (population) over
seeds, and for PosENet over seeds x trials; ``*`` marks a PosENet cell where any trial
gave NaN (the cell then shows the finite trials' mean +- std, or ``*`` alone; the CSV
keeps the plain mean, NaN, beside the finite one); within each architecture the trained
models' strongest and weakest position response per metric are red and blue.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..io import nan_if_null, read_json
from ..metrics import READINGS, SIGMAS, check_reading
from .paper import paper_table2

# Table 2 columns whose extremes are coloured; True: higher means stronger position information.
MARKED = {"posenet_spc": True, "posenet_mae": False, "snr_ppp": True, "mae_ppp": True}
PERFORMANCE = {"top1": ("Top-1 (\\%)", 100.0, 2), "weighted_f": ("$F^w_\\beta$", 1.0, 4)}


def collect(json_paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per (checkpoint, measurement size, LoI) from extraction JSONs; ``loi_index``
    counts from 1; ``size`` is the input size asked for (a ``none`` net that cannot see it
    runs at its smallest input: the JSON's alignment says which).

    ``performance`` is the checkpoint's ``performance`` when it has one (with its
    ``performance_metric``), else its ``val_acc`` (metric ``top1``).
    """
    rows = []
    for path in json_paths:
        meta = read_json(path)
        cfg = meta["config"]
        has_perf = meta.get("performance") is not None
        performance = meta["performance"] if has_perf else meta.get("val_acc")
        metric = meta.get("performance_metric", "top1") if has_perf else "top1"
        if metric not in PERFORMANCE:
            raise ValueError(f"{path}: performance_metric {metric!r}; expected one of {', '.join(PERFORMANCE)}")
        for i, (layer, r) in enumerate(meta["layers"].items(), start=1):
            rows.append({
                "arch": cfg["arch"], "padding": cfg["padding"], "seed": _seed(meta, path),
                "epoch": meta.get("epoch"), "val_acc": meta.get("val_acc"), "layer": layer, "loi_index": i,
                "size": _size(meta),
                **{k: nan_if_null(r.get(k)) for k in (*READINGS, "sigma", "mean_abs")},
                "degenerate": r["degenerate"], "zero_ppp": bool(r.get("zero_ppp", False)), "n_images": r["n_images"],
                "bn_stats": (meta.get("bn_statistics") or {}).get("bn_stats", "as_saved"),
                "init": cfg.get("init", "torchvision"), "num_classes": cfg.get("num_classes"),
                "performance": nan_if_null(performance), "performance_metric": metric,
                "external": meta.get("external"),
            })
    if not rows:
        raise ValueError("no PPP results to collect")
    return pd.DataFrame(rows)


def collect_posenet(json_paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per (checkpoint, trial) from PosENet JSONs; ``null`` (NaN) stays NaN."""
    rows = []
    for path in json_paths:
        meta = read_json(path)
        if not meta.get("trials"):
            raise ValueError(f"{path}: no PosENet trials (expected a non-empty 'trials' list)")
        for t in meta["trials"]:
            rows.append({
                "arch": meta["config"]["arch"], "padding": meta["config"]["padding"],
                "seed": _seed(meta, path), "epoch": meta.get("epoch"), "trial": t["trial"],
                "spc": nan_if_null(t["spc"]), "mae": nan_if_null(t["mae"]),
            })
    if not rows:
        raise ValueError("no PosENet results to collect")
    return pd.DataFrame(rows)


def _size(meta: dict) -> int | None:
    """The measurement size asked for: the JSON's ``size``, else the size its alignment ran at."""
    if meta.get("size") is not None:
        return int(meta["size"])
    shape = (meta.get("alignment") or {}).get("input_size")
    return int(shape[0]) if shape else None


def _seed(meta: dict, path: str | os.PathLike) -> int:
    """The run's seed: the JSON's own ``seed``, else from its path (``.../seed3/epoch_010.json``)."""
    if "seed" in meta:
        return meta["seed"]
    part = next(p for p in reversed(os.fspath(path).split(os.sep)) if p.startswith("seed"))
    return int(part[4:])


def _stats(values: pd.Series, prefix: str) -> dict[str, float]:
    """Plain mean/std (NaN if any value is NaN), finite-only mean/std and the NaN count."""
    v = values.to_numpy(dtype=float)
    finite = v[np.isfinite(v)]
    return {
        f"{prefix}_mean": float(v.mean()) if len(v) else math.nan,
        f"{prefix}_std": float(v.std()) if len(v) else math.nan,
        f"{prefix}_finite_mean": float(finite.mean()) if len(finite) else math.nan,
        f"{prefix}_finite_std": float(finite.std()) if len(finite) else math.nan,
        f"{prefix}_nan": int(len(v) - len(finite)),
    }


EXTERNAL_STAGE = "pretrained (external)"


def table2(df: pd.DataFrame, posenet: pd.DataFrame | None = None, final_epoch: int | None = None,
           external: pd.DataFrame | None = None, reading: str = "snr_ppp", size: int | None = None) -> pd.DataFrame:
    """Mean and std over seeds at LoI 4 for init (epoch 0) and trained (``final_epoch``);
    PosENet over seeds x trials (columns NaN with 0 trials when ``posenet`` is None).
    The SNR-PPP columns hold SNR ``reading`` (the run's primary reading, column
    ``snr_reading``) at measurement ``size`` (default: the frame's only size).
    ``external`` (:func:`collect` of external models' JSONs) adds one row per model, stage
    ``pretrained (external)``, at its last tap; column ``external`` names it."""
    check_reading(reading)
    sizes = sorted(set(df["size"].dropna())) if "size" in df else []
    if size is None and len(sizes) > 1:
        raise ValueError(f"the results hold sizes {sizes}: name the one Table 2 shows")
    size = size if size is not None else (sizes[0] if sizes else None)
    df = df if size is None or "size" not in df else df[df["size"] == size]
    final_epoch = int(df["epoch"].max()) if final_epoch is None else final_epoch
    last = df[df["loi_index"] == df["loi_index"].max()]
    rows = []
    for (arch, padding), g in last.groupby(["arch", "padding"], sort=False):
        for stage, epoch in (("init", 0), ("trained", final_epoch)):
            s = g[g["epoch"] == epoch]
            p = pd.DataFrame(columns=["spc", "mae"]) if posenet is None else posenet[
                (posenet["arch"] == arch) & (posenet["padding"] == padding) & (posenet["epoch"] == epoch)]
            perf = s["performance"] if stage == "trained" else pd.Series(dtype=float)
            metric = s["performance_metric"].iloc[0] if len(s) else "top1"
            scale = PERFORMANCE[metric][1]
            rows.append({
                "arch": arch, "padding": padding, "stage": stage, "size": size, "seeds": len(s),
                "posenet_trials": len(p),
                **_stats(p["spc"], "posenet_spc"), **_stats(p["mae"], "posenet_mae"),
                "snr_reading": reading, "snr_ppp_mean": s[reading].mean(), "snr_ppp_std": s[reading].std(ddof=0),
                "mae_ppp_mean": s["mae_ppp"].mean(), "mae_ppp_std": s["mae_ppp"].std(ddof=0),
                "degenerate": bool(s["degenerate"].any()), "performance_metric": metric,
                "performance_mean": scale * perf.mean() if len(perf) else math.nan,
                "performance_std": scale * perf.std(ddof=0) if len(perf) else math.nan,
                "external": "",
            })
    return pd.DataFrame(rows + _external_rows(external, reading))


def _external_rows(df: pd.DataFrame | None, reading: str = "snr_ppp") -> list[dict]:
    """One Table 2 row per external model: its last tap, one measurement (std 0), no PosENet."""
    rows = []
    none = pd.Series(dtype=float)
    for name, g in ([] if df is None else df.groupby("external", sort=False)):
        r = g[g["loi_index"] == g["loi_index"].max()].iloc[0]
        rows.append({
            "arch": r["arch"], "padding": r["padding"], "stage": EXTERNAL_STAGE, "size": r.get("size"), "seeds": 1,
            "posenet_trials": 0,
            **_stats(none, "posenet_spc"), **_stats(none, "posenet_mae"),
            "snr_reading": reading, "snr_ppp_mean": r[reading], "snr_ppp_std": 0.0, "mae_ppp_mean": r["mae_ppp"],
            "mae_ppp_std": 0.0,
            "degenerate": bool(r["degenerate"]), "performance_metric": "top1",
            "performance_mean": math.nan, "performance_std": math.nan, "external": name,
        })
    return rows


def marks(t: pd.DataFrame) -> dict[tuple[int, str], str]:
    """(row index, column) -> ``red`` (strongest) / ``blue`` (weakest) per arch among trained
    rows; cells with a NaN (PosENet ``*``, degenerate SNR) and all-equal columns are skipped."""
    out: dict[tuple[int, str], str] = {}
    for _, g in t[t["stage"] == "trained"].groupby("arch", sort=False):
        for col, higher in MARKED.items():
            ok = g[f"{col}_mean"].notna()
            if col.startswith("posenet_"):
                ok &= g[f"{col}_nan"] == 0
            v = g.loc[ok, f"{col}_mean"]
            if v.nunique() < 2:
                continue
            strong, weak = (v.max(), v.min()) if higher else (v.min(), v.max())
            out.update({(i, col): "red" for i in v.index[v == strong]})
            out.update({(i, col): "blue" for i in v.index[v == weak]})
    return out


def _pm(mean: float, std: float, digits: int = 4) -> str:
    if math.isnan(mean):
        return "--"
    return f"{mean:.{digits}f}$\\pm${std:.{digits}f}"


def _posenet_cell(r: pd.Series, col: str) -> str:
    if r["posenet_trials"] == 0:
        return "--"
    if r[f"{col}_nan"]:
        finite = r[f"{col}_finite_mean"]
        return "*" if math.isnan(finite) else "*" + _pm(finite, r[f"{col}_finite_std"], 3)
    return _pm(r[f"{col}_mean"], r[f"{col}_std"], 3)


def _stage_cell(r: pd.Series) -> str:
    """The Pretrained column: x (init), trained, or a check mark and the external model's name."""
    if r["stage"] == EXTERNAL_STAGE:
        return "$\\checkmark$ (" + str(r["external"]).replace("_", r"\_") + ")"
    return "$\\times$" if r["stage"] == "init" else "trained"


def rows_not_run(t: pd.DataFrame) -> list[str]:
    """The paper's Table 2 rows (arch, padding) this table lacks, e.g. every ``efficientnet_b0``
    row of a run without it: named under the table, not hidden."""
    have = set(zip(t["arch"], t["padding"], strict=True))
    rows = dict.fromkeys((r["arch"], r["padding"]) for r in paper_table2())
    return [f"{a} {p}" for a, p in rows if (a, p) not in have]


def table2_latex(t: pd.DataFrame) -> str:
    """Booktabs LaTeX in the paper's layout (degenerate SNR shown as ``deg.``)."""
    metrics = list(dict.fromkeys(t["performance_metric"]))
    perf_head = PERFORMANCE[metrics[0]][0] if len(metrics) == 1 else "Performance"
    colour = marks(t)
    reading = t["snr_reading"].iloc[0] if len(t) else "snr_ppp"
    lines = [
        r"% Table 2. Needs \usepackage{booktabs} and \usepackage{xcolor}.",
        r"% Red / blue: strongest / weakest position response per architecture (trained models).",
        r"% *: a NaN in at least one PosENet trial; the finite trials' mean $\pm$ std is shown.",
        f"% SNR-PPP: reading {reading}, sigma = std over {SIGMAS[reading][1]} "
        "(the run's primary reading, reading_fit.csv);",
        f"% measured at {', '.join(str(int(x)) for x in t['size'].dropna().unique()) or '--'} px. "
        "The other readings and sizes are in",
        r"% readings.tex. deg.: a layer with PPP but constant features, SNR undefined.",
        r"\begin{tabular}{lllccccc}",
        r"\toprule",
        r"Model & Padding & Pretrained & \multicolumn{2}{c}{PosENet} & \multicolumn{2}{c}{PPP (ours)} & "
        + perf_head + r" ($\uparrow$) \\",
        r"\cmidrule(lr){4-5}\cmidrule(lr){6-7}",
        r" & & & SPC ($\uparrow$) & MAE ($\downarrow$) & SNR-PPP ($\uparrow$) & MAE-PPP ($\uparrow$) & \\",
        r"\midrule",
    ]
    for arch, g in t.groupby("arch", sort=False):
        metric = g["performance_metric"].iloc[0]
        label, _, digits = PERFORMANCE[metric]
        name = arch.replace("_", r"\_") + ("" if len(metrics) == 1 else f" ({label})")
        for n, (i, r) in enumerate(g.iterrows()):
            snr = ("deg." if r["degenerate"] and math.isnan(r["snr_ppp_mean"])
                   else _pm(r["snr_ppp_mean"], r["snr_ppp_std"]))
            cells = {
                "posenet_spc": _posenet_cell(r, "posenet_spc"), "posenet_mae": _posenet_cell(r, "posenet_mae"),
                "snr_ppp": snr, "mae_ppp": _pm(r["mae_ppp_mean"], r["mae_ppp_std"]),
            }
            cells = {c: f"\\textcolor{{{colour[(i, c)]}}}{{{v}}}" if (i, c) in colour else v for c, v in cells.items()}
            lines.append(" & ".join([
                name if n == 0 else "", r["padding"], _stage_cell(r),
                *cells.values(), _pm(r["performance_mean"], r["performance_std"], digits),
            ]) + r" \\")
        lines.append(r"\midrule")
    lines[-1] = r"\bottomrule"
    lines.append(r"\end{tabular}")
    if missing := rows_not_run(t):
        lines.append(f"% Rows of the paper's Table 2 not in this run: {', '.join(missing)} "
                     "(config/paper.yaml runs every row).")
    return "\n".join(lines) + "\n"
