"""The verdict matrix: every claim (rows) under every SNR reading and measurement size (columns).

It shows at a glance which verdicts hang on the reading of Eq. 4's sigma or on the input size:
a row of one colour does not, a mixed row does. The primary column (the reading and size the
claims table's ``verdict`` is judged under) is outlined; rows with an undecided cell carry the
reason at their right. A plain :class:`matplotlib.figure.Figure` (no pyplot), like
:mod:`.plots`; its height grows with the number of claims.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .claims import NA, UNDECIDED

# verdict -> (colour, legend label); NA: the claim has no verdict there (the BHV test has no size)
STYLE = {
    "holds": ("#2ca02c", "holds"),
    "does not hold": ("#d62728", "does not hold"),
    "not testable at this scale": ("#a6a6a6", "not testable at this scale"),
    "not run": ("#ffffff", "not run"),
    NA: ("#ececec", "no verdict here (the claim has no size)"),
}
NOTE_CHARS = 110


def matrix_columns(t: pd.DataFrame) -> list[str]:
    """The per-(reading, size) verdict columns of a claims table, in order."""
    return [c for c in t.columns if "@" in str(c)]


def cell_codes(t: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Rows x columns of indices into :data:`STYLE` (an unknown verdict raises KeyError)."""
    index = {v: i for i, v in enumerate(STYLE)}
    codes = [[index[str(v)] for v in row] for row in t[columns].itertuples(index=False)]
    return np.array(codes, dtype=int).reshape(len(t), len(columns))


def row_notes(t: pd.DataFrame, reasons: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """Per row, why an undecided cell is undecided: the primary cell's ``why`` when it is
    undecided, else the first undecided cell's reason (named by its column); "" when none is."""
    reasons = reasons or {}
    notes = []
    for _, r in t.iterrows():
        own = reasons.get(r["id"], {})
        if r["verdict"] in UNDECIDED:
            note = str(r["why"])
        else:
            col = next((c for c in matrix_columns(t) if r[c] in UNDECIDED), None)
            note = "" if col is None else f"{col}: {own.get(col, r[col])}"
        notes.append(note if len(note) <= NOTE_CHARS else note[: NOTE_CHARS - 3] + "...")
    return notes


def verdict_matrix(t: pd.DataFrame, primary: str | None = None,
                   reasons: Mapping[str, Mapping[str, str]] | None = None) -> Figure:
    """The matrix of :func:`.claims.claims_table`'s table ``t``; ``primary`` and ``reasons``
    default to its ``attrs`` (set by claims_table)."""
    primary = primary or t.attrs.get("primary")
    columns = matrix_columns(t)
    if primary not in columns:
        raise ValueError(f"primary column {primary!r} is not among the table's columns {columns}")
    codes = cell_codes(t, columns)
    fig = Figure(figsize=(3.0 + 0.42 * len(columns) + 6.0, 1.9 + 0.24 * len(t)))
    ax = fig.add_subplot()
    ax.imshow(codes, cmap=ListedColormap([c for c, _ in STYLE.values()]), vmin=-0.5, vmax=len(STYLE) - 0.5,
              aspect="auto",
              interpolation="nearest")
    _grid(ax, codes.shape)
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="left", fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(t)), t["id"], fontsize=7)
    j = columns.index(primary)
    ax.get_xticklabels()[j].set_fontweight("bold")
    ax.add_patch(Rectangle((j - 0.5, -0.5), 1, len(t), fill=False, edgecolor="black", linewidth=2.5, clip_on=False))
    for i, note in enumerate(row_notes(t, reasons if reasons is not None else t.attrs.get("reasons"))):
        if note:
            ax.text(len(columns) - 0.2, i, note, va="center", fontsize=6, color="0.25", clip_on=False)
    handles = [Patch(facecolor=c, edgecolor="0.5", label=label) for c, label in STYLE.values()]
    handles.append(Patch(facecolor="none", edgecolor="black", linewidth=2.5,
                         label=f"primary: {primary} (the table's verdict)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=3, fontsize=7, frameon=False)
    ax.set_title("Claims of the paper: verdict per SNR reading and measurement size (reading@size px)",
                 fontsize=9, pad=55)
    fig.tight_layout()
    return fig


def _grid(ax, shape: tuple[int, int]) -> None:
    rows, cols = shape
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
