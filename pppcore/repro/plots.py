"""Figures of the paper, from collected PPP results.

Figures are plain :class:`matplotlib.figure.Figure` objects, not pyplot's: they render
headless with no backend chosen (importing this module leaves the caller's backend
alone), and nothing keeps them alive once dropped.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..io import atomic_path, read_npz

if TYPE_CHECKING:
    from .surfaces import ChannelSurfaces

PADDING_COLOURS = {"zeros": "tab:red", "circular": "tab:blue", "reflect": "tab:green", "replicate": "tab:orange",
                   "randn": "tab:purple", "none": "tab:gray"}


def save(fig: Figure, *paths: str | os.PathLike, dpi: int = 120) -> None:
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight")


def fig5_chronological(df: pd.DataFrame) -> Figure:
    """SNR-PPP and MAE-PPP per LoI against epoch, mean +- std over seeds, one colour per padding."""
    archs = list(dict.fromkeys(df["arch"]))
    lois = sorted(df["loi_index"].unique())
    # Constrained layout keeps the suptitle above the first row's titles (tight_layout ignores it).
    fig = Figure(figsize=(3.2 * len(lois), 2.6 * 2 * len(archs) + 0.4), layout="constrained")
    axes = fig.subplots(2 * len(archs), len(lois), squeeze=False)
    for a, arch in enumerate(archs):
        for m, (metric, label) in enumerate((("snr_ppp", "SNR-PPP"), ("mae_ppp", "MAE-PPP"))):
            for j, loi in enumerate(lois):
                ax = axes[2 * a + m][j]
                sub = df[(df["arch"] == arch) & (df["loi_index"] == loi)]
                for padding, g in sub.groupby("padding", sort=False):
                    stats = g.groupby("epoch")[metric].agg(["mean", "std"]).fillna(0)
                    colour = PADDING_COLOURS.get(padding)
                    ax.plot(stats.index, stats["mean"], marker="o", ms=3, color=colour, label=padding)
                    ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                                    color=colour, alpha=0.2)
                layer = sub["layer"].iloc[0] if len(sub) else f"LoI {loi}"
                ax.set_title(f"{arch} {layer}: {label}", fontsize=9)
                ax.set_xlabel("epoch", fontsize=8)
                ax.tick_params(labelsize=7)
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Chronological PPP (mean $\\pm$ std over seeds)")
    return fig


def load_maps(npz_path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Channel-mean PPP maps of one extraction NPZ, keyed by LoI name, in depth order."""
    return {key.split("/")[0]: value for key, value in read_npz(npz_path).items() if key.endswith("/channel_mean")}


def fig4_grid(maps: dict[tuple[str, str, str], dict[str, np.ndarray]], lois: tuple[int, ...] = (3, 4)) -> Figure:
    """PPP maps: rows arch x LoI, columns padding x (init, trained); each map scaled to [0, 1].

    ``maps[(arch, padding, stage)]`` is :func:`load_maps` of that checkpoint (stage: init/trained).
    """
    archs = list(dict.fromkeys(a for a, _, _ in maps))
    paddings = list(dict.fromkeys(p for _, p, _ in maps))
    stages = ("init", "trained")
    fig = Figure(figsize=(1.6 * 2 * len(paddings), 1.7 * len(archs) * len(lois)))
    axes = fig.subplots(len(archs) * len(lois), len(paddings) * 2, squeeze=False)
    titled: set[int] = set()  # columns with a title: an arch may lack a padding (train.archs.*.paddings)
    for a, arch in enumerate(archs):
        for li, loi in enumerate(lois):
            row = a * len(lois) + li
            for p, padding in enumerate(paddings):
                for s, stage in enumerate(stages):
                    ax = axes[row][2 * p + s]
                    ax.set_xticks([]), ax.set_yticks([])
                    layers = maps.get((arch, padding, stage))
                    if layers is None:
                        ax.axis("off")
                        continue
                    name, m = list(layers.items())[loi - 1]
                    ax.imshow(_unit(m), cmap="viridis", vmin=0, vmax=1)
                    if 2 * p + s not in titled:
                        ax.set_title(f"{padding}\n{stage}", fontsize=8)
                        titled.add(2 * p + s)
                    if p == 0 and s == 0:
                        ax.set_ylabel(f"{arch}\n{name} (LoI {loi})", fontsize=7)
    fig.suptitle("PPP (channel mean, each map scaled to [0, 1]): init vs trained")
    fig.tight_layout()
    return fig


def external_grid(maps: dict[tuple[str, str], dict[str, np.ndarray]]) -> Figure:
    """Fig 4 style PPP maps of external models: one row per (name, padding), one column per
    tap in depth order, each map scaled to [0, 1]."""
    if not maps:
        raise ValueError("no external models to plot: config external is empty")
    width = max(len(layers) for layers in maps.values())
    fig = Figure(figsize=(1.8 * width, 1.9 * len(maps)))
    axes = fig.subplots(len(maps), width, squeeze=False)
    for row, ((name, padding), layers) in enumerate(maps.items()):
        for col in range(width):
            ax = axes[row][col]
            ax.set_xticks([]), ax.set_yticks([])
            if col >= len(layers):
                ax.axis("off")
                continue
            tap, m = list(layers.items())[col]
            ax.imshow(_unit(m), cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"{tap} {m.shape[0]}x{m.shape[1]}", fontsize=7)
            if col == 0:
                ax.set_ylabel(f"{name}\n{padding}", fontsize=7)
    fig.suptitle("PPP of external models (channel mean, each map scaled to [0, 1])")
    fig.tight_layout()
    return fig


def _unit(m: np.ndarray) -> np.ndarray:
    """``m`` scaled to [0, 1] (a constant map becomes 0): the paper's per-map normalisation."""
    span = m.max() - m.min()
    return (m - m.min()) / span if span > 0 else m * 0


def fig2_principal_shift(exact: dict, naive: dict, caption: str = "") -> Figure:
    """PPP with the principal-point correction (top) vs the naive centred crop (bottom).

    ``exact`` / ``naive``: {LoI name: PPPResult} of the same model and images. Each map is
    scaled to [0, 1]; titles give MAE-PPP, so a wrong alignment shows both as a pattern
    driven by image content and as an inflated number.
    """
    names = list(exact)
    fig = Figure(figsize=(2.6 * len(names), 6.4))
    axes = fig.subplots(2, len(names), squeeze=False)
    for row, (label, results) in enumerate((("margin-corrected", exact), ("naive centred crop", naive))):
        for j, name in enumerate(names):
            r, ax = results[name], axes[row][j]
            ax.imshow(_unit(r.channel_mean.numpy()), cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{name}  MAE-PPP {r.mae_ppp:.3g}", fontsize=8)
            if j == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle("Principal point shift: PPP (channel mean, each map scaled to [0, 1])"
                 + (f"\n{caption}" if caption else ""), fontsize=10)
    fig.tight_layout()
    return fig


def fig1_surfaces(s: ChannelSurfaces, counts: tuple[int, ...] = (1, 8, 64), caption: str = "") -> Figure:
    """Fig. 1: optimally- (grey) vs algorithmically-padded (coloured) surfaces of one image,
    then the PPP estimate over 1, 8, 64, ... and all images, tilted (top row) and top view."""
    n = len(s.twin)
    counts = tuple(c for c in counts if c < n) + (n,)
    cols = 1 + len(counts)
    fig = Figure(figsize=(3.0 * cols, 5.6))
    h, w = s.twin.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w]
    ax = fig.add_subplot(2, cols, 1, projection="3d")
    ax.plot_surface(xx, yy, s.twin[0], color="0.6", alpha=0.55, linewidth=0)
    ax.plot_surface(xx, yy, s.regular[0], cmap="viridis", alpha=0.85, linewidth=0)
    ax.set_title("one image: optimal (grey)\nvs algorithmic padding", fontsize=8)
    ax.tick_params(labelsize=6)
    ax = fig.add_subplot(2, cols, cols + 1)
    ax.imshow(s.regular[0] - s.twin[0], cmap="coolwarm")
    ax.set_title("A - O, one image", fontsize=8)
    ax.set_xticks([]), ax.set_yticks([])
    for j, k in enumerate(counts, start=2):
        ppp = s.ppp(k)
        ax = fig.add_subplot(2, cols, j, projection="3d")
        ax.plot_surface(xx, yy, ppp, cmap="viridis", linewidth=0)
        ax.set_title(f"PPP over {k} image{'s' * (k > 1)}", fontsize=8)
        ax.tick_params(labelsize=6)
        ax = fig.add_subplot(2, cols, cols + j)
        ax.imshow(_unit(ppp), cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"top view (scaled to [0, 1]), N={k}", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"PPP surfaces, {s.loi} channel {s.channel}" + (f" — {caption}" if caption else ""), fontsize=10)
    fig.tight_layout()
    return fig
