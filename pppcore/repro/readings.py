"""Every PPP reading at LoI 4, init vs trained, beside the paper's own Table 2 numbers.

The paper defines SNR-PPP with "the standard deviation on the spatial dimensions" of the
features (Eq. 4) and publishes no code, so which sigma it used is open. This table shows the
run under every reading the extraction records (:data:`pppcore.metrics.READINGS`), so a
reader can see which conclusions depend on that choice. Paper column: its SNR-PPP beside
each SNR reading, its MAE-PPP beside ``mae_ppp``, and beside each sigma the sigma its
table implies (MAE-PPP / SNR-PPP); readings the paper has no number for show ``--``. A run
measuring at several input sizes (config ``ppp.input_sizes``) gets one set of rows per size.
"""

from __future__ import annotations

import math

import pandas as pd

from ..metrics import READINGS, SIGMAS
from .paper import paper_value

# reading -> what it means (the LaTeX table's block headers and the CSV's ``meaning``); the
# sigma texts are pppcore.metrics.SIGMAS', so the two cannot drift apart.
MEANING = {
    "mae_ppp": "MAE-PPP (Eq. 5): mean over C, H, W of E_n|O_n - A_n| (the mean absolute difference)",
    **{reading: f"SNR-PPP = MAE-PPP / sigma, sigma = std over {what}" for reading, (_, what) in SIGMAS.items()},
    "mae_rel": "MAE-PPP / mean|A| (scale-free)",
    "signed_mae": "mean over C, H, W of |E_n[O_n - A_n]| (signed average first: noise cancels)",
    "noise_floor": "signed_mae expected from noise alone at this N",
    **{sigma: f"sigma: std over {what}" for sigma, what in SIGMAS.values() if sigma != "sigma"},
}


def _paper(arch: str, padding: str, stage: str, reading: str) -> float:
    """The paper's number for ``reading`` (NaN when it has none)."""
    mae, snr = (paper_value(arch, padding, stage, m) for m in ("mae_ppp", "snr_ppp"))
    if reading == "mae_ppp":
        value = mae
    elif reading.startswith("snr_"):
        value = snr
    elif reading.startswith("sigma_") and mae is not None and snr:
        value = mae / snr
    else:
        value = None
    return math.nan if value is None else float(value)


def readings_table(df: pd.DataFrame, final_epoch: int | None = None) -> pd.DataFrame:
    """Long table: (arch, padding, size, stage, reading) -> mean and std over seeds at the last
    LoI, the number of seeds and the paper's value. ``df`` is :func:`.tables.collect`'s; each
    measurement size (column ``size``) gets its own rows."""
    final_epoch = int(df["epoch"].max()) if final_epoch is None else final_epoch
    last = df[df["loi_index"] == df["loi_index"].max()]
    rows = []
    for (arch, padding, size), g in last.groupby(["arch", "padding", "size"], sort=False):
        for stage, epoch in (("init", 0), ("trained", final_epoch)):
            s = g[g["epoch"] == epoch]
            for reading in READINGS:
                v = s[reading].astype(float) if reading in s else pd.Series(dtype=float)
                rows.append({
                    "arch": arch, "padding": padding, "size": int(size), "stage": stage, "reading": reading,
                    "mean": v.mean(), "std": v.std(ddof=0), "seeds": int(v.notna().sum()),
                    "paper": _paper(arch, padding, stage, reading), "meaning": MEANING[reading],
                })
    return pd.DataFrame(rows)


def _num(x: float) -> str:
    if math.isnan(x):
        return "--"
    return f"{x:.2e}" if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4) else f"{x:.4f}"


def _tex(text: str) -> str:
    return text.replace("_", r"\_").replace("|", "$|$")


def _sizes(t: pd.DataFrame, primary_size: int | None) -> list[int]:
    """The table's sizes, the primary one first (default: the first seen)."""
    seen = list(dict.fromkeys(int(s) for s in t["size"]))
    return seen if primary_size is None else [primary_size, *(s for s in seen if s != primary_size)]


def readings_latex(t: pd.DataFrame, primary_size: int | None = None) -> str:
    """Booktabs LaTeX: one block per reading; per (arch, padding) and measurement size (the
    primary size first), init and trained, ours (mean over seeds) and the paper's."""
    order = {s: i for i, s in enumerate(_sizes(t, primary_size))}
    lines = [
        r"% Every PPP reading at LoI 4 (readings.csv). Needs \usepackage{booktabs}.",
        r"% Ours: mean over seeds, per measurement size (px; the primary size first). Paper: Table 2 (SNR",
        r"% readings beside its SNR-PPP; sigma readings beside the sigma it implies, MAE-PPP / SNR-PPP).",
        r"\begin{tabular}{llrcccc}",
        r"\toprule",
        r"Model & Padding & Size & \multicolumn{2}{c}{Init} & \multicolumn{2}{c}{Trained} \\",
        r"\cmidrule(lr){4-5}\cmidrule(lr){6-7}",
        r" & & (px) & ours & paper & ours & paper \\",
    ]
    for reading, block in t.groupby("reading", sort=False):
        lines += [r"\midrule", rf"\multicolumn{{7}}{{l}}{{\textit{{{_tex(reading)}}}: {_tex(MEANING[reading])}}} \\",
                  r"\midrule"]
        for (arch, padding), g in block.groupby(["arch", "padding"], sort=False):
            for size, s in sorted(g.groupby("size"), key=lambda kv: order[int(kv[0])]):
                by = {r["stage"]: r for _, r in s.iterrows()}
                cells = [c for st in ("init", "trained") for c in (_num(by[st]["mean"]), _num(by[st]["paper"]))]
                lines.append(" & ".join([_tex(arch), padding, str(int(size)), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
