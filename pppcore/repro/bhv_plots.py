"""Fig 3 of the paper: BHV samples on black and grey, with the zeros padding F-Conv adds.

Drawing the 2 px zero pad (k - 1 of F-Conv) around each canvas makes the confound visible:
on black the pad is indistinguishable from the background (zeros is the optimal padding),
on grey it is a dark frame that marks the border.
"""

from __future__ import annotations

import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .bhv import BACKGROUNDS, KERNEL, SIZE, dissimilar, render, sample_layout


def fig3_samples(backgrounds: tuple[str, ...] = tuple(BACKGROUNDS), seed: int = 0, pad: int = KERNEL - 1) -> Figure:
    """Rows: backgrounds; columns: class 0 / 1 of the similar and the dissimilar test."""
    similar = sample_layout(2, seed, "test")  # labels 0, 1
    columns = [("similar", similar, 0), ("similar", similar, 1),
               ("dissimilar", dissimilar(similar), 0), ("dissimilar", dissimilar(similar), 1)]
    fig = Figure(figsize=(2.2 * len(columns), 2.6 * len(backgrounds)))
    axes = fig.subplots(len(backgrounds), len(columns), squeeze=False)
    for r, bg in enumerate(backgrounds):
        for c, (test, layout, i) in enumerate(columns):
            img = F.pad(render(layout, bg)[i : i + 1], [pad] * 4)[0]  # zeros padding, as F-Conv's first layer
            ax = axes[r][c]
            ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest", vmin=0, vmax=1)
            ax.add_patch(Rectangle((pad - 0.5, pad - 0.5), SIZE, SIZE, fill=False, ls="--", lw=0.8, ec="white"))
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{test}, class {i}", fontsize=8)
            if c == 0:
                ax.set_ylabel(f"{bg} background", fontsize=9)
    fig.suptitle(f"BHV samples with {pad} px zeros padding (outside the dashed canvas border)", fontsize=9)
    fig.tight_layout()
    return fig
