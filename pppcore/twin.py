"""The padding-free twin: the same weights, no padding anywhere (the paper's optimal padding)."""

from __future__ import annotations

import copy

from torch import nn

from .alignment import Alignment
from .models.base import PPPModel
from .models.layers import PadConv2d, PadMaxPool2d, SqueezeExcitation
from .padding import NoPad2d


def has_padding(model: nn.Module) -> bool:
    return any(
        (isinstance(m, PadConv2d) and m.pad.amount) or (isinstance(m, PadMaxPool2d) and m.padding)
        for m in model.modules()
    )


def make_twin(model: PPPModel, alignment: Alignment | None = None) -> PPPModel:
    """A module tree sharing ``model``'s parameters and buffers, with every pad removed.

    Run on the big crop of :func:`pppcore.align`, each of its features is computed from
    real image pixels only. A model without padding (``none``) is its own twin. With
    ``alignment``, each squeeze-excitation block pools only over the region aligned with
    the regular map (otherwise over the twin's whole, larger map).
    """
    if hasattr(model, "align_axis"):  # a converted model: crops at strided windows, merges and pools
        if alignment is None:
            raise ValueError(f"make_twin({model.arch}): a converted model's twin needs the Alignment (its crops depend on the input size)")
        return model.twin(alignment)
    if not has_padding(model):
        return model
    shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
    twin = copy.deepcopy(model, shared)
    for m in twin.modules():
        if isinstance(m, PadConv2d):
            m.pad = NoPad2d()
        elif isinstance(m, PadMaxPool2d):
            m.padding, m.circular = 0, False
    twin.config = {**model.config, "padding": "none", "twin_of": model.padding}
    if alignment is not None:
        set_se_regions(twin, alignment)
    return twin


def set_se_regions(twin: nn.Module, alignment: Alignment) -> None:
    """Point every SE block of ``twin`` at the pixels aligned with the regular map."""
    for name, m in twin.named_modules():
        if isinstance(m, SqueezeExcitation):
            m.region = alignment.layer_margins[name].as_tuple()
