"""pppcore.repro.plots: the figure builders on small known maps."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from pppcore.repro.plots import external_grid, fig5_chronological


def test_external_grid_has_a_row_per_model_and_a_column_per_tap():
    maps = {
        ("tiny", "zeros"): {"stride4": np.arange(16.0).reshape(4, 4), "stride8": np.ones((2, 2))},
        ("mine", "reflect"): {"a": np.eye(3), "b": np.eye(3), "c": np.zeros((1, 1))},
    }
    fig = external_grid(maps)
    axes = fig.axes
    assert len(axes) == 2 * 3
    assert [ax.get_title() for ax in axes] == ["stride4 4x4", "stride8 2x2", "", "a 3x3", "b 3x3", "c 1x1"]
    assert not axes[2].axison and axes[0].get_ylabel() == "tiny\nzeros" and axes[3].get_ylabel() == "mine\nreflect"
    shown = axes[0].images[0].get_array()
    assert shown.min() == 0 and shown.max() == 1  # each map scaled to [0, 1]
    with pytest.raises(ValueError, match="config external is empty"):
        external_grid({})


def _chronological_frame(archs=("vgg19",), lois=(1, 2, 3, 4)):
    rows = [{"arch": arch, "loi_index": loi, "layer": f"block{loi + 1}", "padding": padding, "seed": seed,
             "epoch": epoch,
             "snr_ppp": 0.1 * epoch + seed, "mae_ppp": 0.01 * epoch * loi}
            for arch in archs for loi in lois for padding in ("zeros", "circular")
            for seed in (0, 1) for epoch in (0, 1, 2)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("archs", [("vgg19",), ("vgg19", "resnet50", "efficientnet_b0", "vgg16")])
def test_fig5_suptitle_clears_the_first_row_of_panels(archs):
    """The suptitle sits above every panel and its title (tight_layout used to draw it over the first row)."""
    fig = fig5_chronological(_chronological_frame(archs))
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    (suptitle,) = [t for t in fig.findobj(Text) if t.get_text() == fig.get_suptitle()]
    title = suptitle.get_window_extent(renderer)
    assert len(fig.axes) == 2 * len(archs) * 4
    for ax in fig.axes[:4]:
        assert ax.get_tightbbox(renderer).y1 <= title.y0, ax.get_title()
    assert title.y1 <= fig.bbox.y1  # and on the canvas
