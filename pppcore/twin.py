"""The padding-free twin: the same weights, no padding anywhere (the paper's optimal padding)."""

from __future__ import annotations

from .alignment import Alignment, Twinnable
from .models.layers import has_padding, padless_copy, set_se_regions

__all__ = ["has_padding", "make_twin", "padless_copy", "set_se_regions"]


def make_twin(model: Twinnable, alignment: Alignment | None = None) -> Twinnable:
    """A module tree sharing ``model``'s parameters and buffers, with every pad removed.

    Run on the big crop of :func:`pppcore.align`, each of its features is computed from
    real image pixels only. A built-in model without padding (``none``) is its own twin.

    ``alignment`` only decides what the twin's global pools see (and, for a converted
    model, which grid its branches are cropped to):

    - with it, each global pool inside the trunk (a squeeze-excitation block) pools over
      the region aligned with the regular map, and a converted model's twin carries the
      crops of that alignment (its strided windows, merges and pools, for the big crop);
    - without it, each global pool sees the twin's whole (larger) map, and a converted
      model's twin derives its crops from each input's size: merges join the pixels the
      regular model joins, on the twin's own grid (each strided window keeps its first
      pixel where the branches allow, earlier windows first), as a built-in twin's
      residual blocks crop their shortcut.

    It is ``model.twin(alignment)``: each kind of model builds its own twin.
    """
    return model.twin(alignment)
