"""Every PPP reading at LoI 4, init vs trained, beside the paper's own Table 2 numbers.

The paper defines SNR-PPP with "the standard deviation on the spatial dimensions" of the
features (Eq. 4) and publishes no code, so which sigma it used is open. This table shows the
run under every reading the extraction records (:data:`pppcore.metrics.READINGS`), so a
reader can see which conclusions depend on that choice. Paper column: its SNR-PPP beside
each SNR reading, its MAE-PPP beside ``mae_ppp``, and beside each sigma the sigma its
table implies (MAE-PPP / SNR-PPP); readings the paper has no number for show ``--``.
"""

from __future__ import annotations

import math

import pandas as pd

from ..metrics import READINGS
from .paper import paper_value

# reading -> what it means (the LaTeX table's block headers and the CSV's ``meaning``)
MEANING = {
    "mae_ppp": "MAE-PPP (Eq. 5): mean |E_n[O_n - A_n]| over C, H, W",
    "snr_ppp": "SNR-PPP, sigma = spatial std per channel (Eq. 4 as written; Table 2's)",
    "snr_chw": "SNR-PPP, sigma = std over C, H, W per image",
    "snr_meanmap": "SNR-PPP, sigma = spatial std of the mean feature map",
    "mae_rel": "MAE-PPP / mean |A| (scale-free)",
    "signed_mae": "mean |E_n[O_n - A_n]| (signed average: noise cancels)",
    "noise_floor": "signed_mae expected from noise alone at this N",
    "sigma_chw": "std over C, H, W per image",
    "sigma_meanmap": "spatial std of the mean feature map",
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
    """Long table: (arch, padding, stage, reading) -> mean and std over seeds at the last
    LoI, the number of seeds and the paper's value. ``df`` is :func:`.tables.collect`'s."""
    final_epoch = int(df["epoch"].max()) if final_epoch is None else final_epoch
    last = df[df["loi_index"] == df["loi_index"].max()]
    rows = []
    for (arch, padding), g in last.groupby(["arch", "padding"], sort=False):
        for stage, epoch in (("init", 0), ("trained", final_epoch)):
            s = g[g["epoch"] == epoch]
            for reading in READINGS:
                v = s[reading].astype(float) if reading in s else pd.Series(dtype=float)
                rows.append({
                    "arch": arch, "padding": padding, "stage": stage, "reading": reading,
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


def readings_latex(t: pd.DataFrame) -> str:
    """Booktabs LaTeX: one block per reading; init and trained, ours (mean over seeds) and
    the paper's, per (arch, padding)."""
    lines = [
        r"% Every PPP reading at LoI 4 (readings.csv). Needs \usepackage{booktabs}.",
        r"% Ours: mean over seeds. Paper: Table 2 (SNR readings beside its SNR-PPP; sigma readings",
        r"% beside the sigma it implies, MAE-PPP / SNR-PPP).",
        r"\begin{tabular}{llcccc}",
        r"\toprule",
        r"Model & Padding & \multicolumn{2}{c}{Init} & \multicolumn{2}{c}{Trained} \\",
        r"\cmidrule(lr){3-4}\cmidrule(lr){5-6}",
        r" & & ours & paper & ours & paper \\",
    ]
    for reading, block in t.groupby("reading", sort=False):
        lines += [r"\midrule", rf"\multicolumn{{6}}{{l}}{{\textit{{{_tex(reading)}}}: {_tex(MEANING[reading])}}} \\", r"\midrule"]
        for (arch, padding), g in block.groupby(["arch", "padding"], sort=False):
            by = {r["stage"]: r for _, r in g.iterrows()}
            cells = [c for st in ("init", "trained") for c in (_num(by[st]["mean"]), _num(by[st]["paper"]))]
            lines.append(" & ".join([_tex(arch), padding, *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
