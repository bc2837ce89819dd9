"""pppcore.repro.plots: the figure builders on small known maps."""

import numpy as np
import pytest

from pppcore.repro.plots import external_grid


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
