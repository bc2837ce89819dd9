"""Figures of the paper, from collected PPP results (matplotlib, Agg backend)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .io import atomic_path  # noqa: E402

PADDING_COLOURS = {"zeros": "tab:red", "circular": "tab:blue", "reflect": "tab:green", "replicate": "tab:orange", "randn": "tab:purple", "none": "tab:gray"}


def save(fig: plt.Figure, *paths: str | os.PathLike) -> None:
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)


def fig5_chronological(df: pd.DataFrame) -> plt.Figure:
    """SNR-PPP and MAE-PPP per LoI against epoch, mean +- std over seeds, one colour per padding."""
    archs = list(dict.fromkeys(df["arch"]))
    lois = sorted(df["loi_index"].unique())
    fig, axes = plt.subplots(2 * len(archs), len(lois), figsize=(3.2 * len(lois), 2.6 * 2 * len(archs)), squeeze=False)
    for a, arch in enumerate(archs):
        for m, (metric, label) in enumerate((("snr_ppp", "SNR-PPP"), ("mae_ppp", "MAE-PPP"))):
            for j, loi in enumerate(lois):
                ax = axes[2 * a + m][j]
                sub = df[(df["arch"] == arch) & (df["loi_index"] == loi)]
                for padding, g in sub.groupby("padding", sort=False):
                    stats = g.groupby("epoch")[metric].agg(["mean", "std"]).fillna(0)
                    colour = PADDING_COLOURS.get(padding)
                    ax.plot(stats.index, stats["mean"], marker="o", ms=3, color=colour, label=padding)
                    ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=colour, alpha=0.2)
                layer = sub["layer"].iloc[0] if len(sub) else f"LoI {loi}"
                ax.set_title(f"{arch} {layer}: {label}", fontsize=9)
                ax.set_xlabel("epoch", fontsize=8)
                ax.tick_params(labelsize=7)
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Chronological PPP (mean $\\pm$ std over seeds)")
    fig.tight_layout()
    return fig
