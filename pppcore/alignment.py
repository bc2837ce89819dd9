"""Crop geometry that aligns a padded model with its padding-free twin, pixel for pixel.

The twin (no padding anywhere) runs on a ``big`` crop chosen so that its last layer of
interest has exactly the regular model's size; the regular model runs on the centre part
of the same crop (``big`` minus the input margins). At each layer the twin's map is then
cropped by that layer's margins. All numbers come from :func:`pppcore.geometry.trace`
over the model's real layers (paper App. A.1 is reproduced, not copied).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import torch

from .geometry import Axis, GeometryError, smallest
from .names import CLAMPED


@dataclass(frozen=True)
class Margins:
    top: int
    left: int
    bottom: int
    right: int

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Remove these margins from the last two dimensions of ``x``."""
        h, w = x.shape[-2:]
        return x[..., self.top : h - self.bottom, self.left : w - self.right]

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.top, self.left, self.bottom, self.right)


@dataclass(frozen=True)
class AxisAlignment:
    """Alignment along one axis: big crop, input margin, and per-layer margins/sizes."""

    input_size: int
    big_size: int
    input_margin: tuple[int, int]
    layer_margin: dict[str, tuple[int, int]]
    regular: dict[str, Axis]
    twin: dict[str, Axis]
    crops: dict = field(default_factory=dict, repr=False)  # converted models: the twin's {(node, input): crop}


@dataclass(frozen=True)
class Alignment:
    """How to crop images and twin features for one model at one input size."""

    arch: str
    padding: str
    input_size: tuple[int, int]
    big_size: tuple[int, int]
    input_margins: Margins
    loi_margins: dict[str, Margins]
    layer_margins: dict[str, Margins] = field(repr=False)
    loi_sizes: dict[str, tuple[int, int]] = field(repr=False)
    axes: tuple[AxisAlignment, AxisAlignment] = field(repr=False)
    loi_paths: dict[str, str] = field(repr=False)

    def regular_crop(self, big: torch.Tensor) -> torch.Tensor:
        """The regular model's input: the big crop minus the input margins."""
        return self.input_margins.crop(big)

    def align_twin(self, loi: str, twin_feature: torch.Tensor) -> torch.Tensor:
        """Crop the twin's feature at ``loi`` onto the regular feature's grid."""
        return self.loi_margins[loi].crop(twin_feature)

    def centred(self) -> Alignment:
        """The naive alignment that ignores the principal point shift (paper Fig. 2).

        Same big crop, but the regular crop and every twin map are cut out of the middle,
        splitting each margin evenly (the extra pixel of an odd margin on the bottom/right).
        Where stride-2 layers pad on one side only, this compares features that are a
        fraction of a stride apart, and the "PPP" it gives is polluted by image content:
        the checkerboard the paper warns about. For illustration only.
        """

        def even(m: Margins) -> Margins:
            v, h = m.top + m.bottom, m.left + m.right
            return Margins(v // 2, h // 2, v - v // 2, h - h // 2)

        return replace(
            self,
            input_margins=even(self.input_margins),
            loi_margins={k: even(m) for k, m in self.loi_margins.items()},
            layer_margins={k: even(m) for k, m in self.layer_margins.items()},
        )

    def table(self) -> str:
        """The alignment as a text table in the layout of the paper's Appendix A.

        Po is the twin map's centre (the twin has no principal point shift); Pr = Po - top
        is the regular pixel aligned with it, off-centre where stride-2 layers pad
        unevenly (ResNet50 layer1: 24 on a 56-px map, paper Fig. 6).
        """
        h, w = self.axes
        lines = [
            f"{self.arch} padding={self.padding} input {self.input_size[0]}x{self.input_size[1]}",
            f"{'layer':<22}{'Fr':>10}{'Pr':>16}{'Fo':>10}{'Po':>16}{'top/left':>12}{'bottom/right':>14}",
        ]
        rows = [("input crop", "")] + [(name, path) for name, path in self.loi_paths.items()]
        for label, path in rows:  # path "" is the input: its margins are the input margins
            rh, rw, th, tw = h.regular[path], w.regular[path], h.twin[path], w.twin[path]
            (top, bottom), (left, right) = h.layer_margin[path], w.layer_margin[path]
            fr, fo = f"{rh.size}x{rw.size}", f"{th.size}x{tw.size}"
            po = f"({principal(th):g}, {principal(tw):g})"
            pr = f"({principal(th) - top:g}, {principal(tw) - left:g})"  # the regular pixel under Po
            tl, br = f"({top}, {left})", f"({bottom}, {right})"
            lines.append(f"{label:<22}{fr:>10}{pr:>16}{fo:>10}{po:>16}{tl:>12}{br:>14}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "arch": self.arch,
            "padding": self.padding,
            "input_size": list(self.input_size),
            "big_size": list(self.big_size),
            "input_margins": list(self.input_margins.as_tuple()),
            "loi_margins": {k: list(m.as_tuple()) for k, m in self.loi_margins.items()},
            "loi_sizes": {k: list(s) for k, s in self.loi_sizes.items()},
        }


def principal(axis: Axis) -> float:
    """Centre index of a map (half-way between the two middle pixels when even)."""
    return (axis.size - 1) / 2


@runtime_checkable
class Twinnable(Protocol):
    """What :func:`align`, :func:`pppcore.make_twin` and :func:`pppcore.measure_ppp` ask of a model.

    Built-in models (:class:`pppcore.models.base.PPPModel`) and converted ones
    (:class:`pppcore.graph_model.GraphModel`) both implement it, each with its own engine:
    the built-ins trace their trunk by hand (:func:`align_trunk_axis`), a converted model
    reads its fx graph (:mod:`pppcore.graph_geometry`). Nothing downstream asks which it is.
    """

    loi: dict[str, str]  # layer of interest (tap) name -> module path or graph node, in depth order

    @property
    def arch(self) -> str: ...

    @property
    def padding(self) -> str: ...

    def features(self, x: torch.Tensor, taps: Mapping[str, str] | None = None) -> dict[str, torch.Tensor]:
        """The LoI outputs for input ``x``, in depth order."""
        ...

    def trace(self, size: int, padless: bool = False) -> dict[str, Axis]:
        """The regular geometry along one axis of a ``size``-px input (``""`` is the input)."""
        ...

    def align_axis(self, size: int, axis: int = 0) -> AxisAlignment:
        """The alignment along ``axis`` (0: height, 1: width) of a ``size``-px input."""
        ...

    def twin(self, alignment: Alignment | None = None) -> Twinnable:
        """The padding-free twin, sharing the parameters and buffers (see :func:`pppcore.make_twin`)."""
        ...


def align_trunk_axis(model: Twinnable, size: int) -> AxisAlignment:
    """One axis of a built-in model's alignment, from :meth:`PPPModel.trace` of its trunk.

    The smallest big crop whose twin reaches the regular size at the last LoI, then the
    first crop from there whose every layer lands on the regular grid (the twin is never
    cropped inside: a misaligned crop is passed over for the next one).
    """
    regular = model.trace(size)
    last = model.loi[list(model.loi)[-1]]
    target = regular[last].size

    def twin_at(big: int) -> dict[str, Axis] | None:
        try:
            return model.trace(big, padless=True)
        except GeometryError:
            return None

    def reaches(big: int) -> dict[str, Axis] | None:
        twin = twin_at(big)
        return twin if twin is not None and twin[last].size >= target else None

    # Twin sizes grow with the big crop: the smallest that reaches the target size at the last LoI.
    found = smallest(reaches, size, 64 * size + 4096)
    if found is None:
        raise GeometryError(f"{model.arch}: no big crop gives a {target}-px last layer of interest")
    problems: list[str] = []
    big = found[0]
    while (twin := twin_at(big)) is not None and twin[last].size == target:
        shift = twin[last].offset - regular[last].offset
        margins, problem = _layer_margins(regular, twin, shift, big, size)
        if problem is None:
            return AxisAlignment(size, big, (int(shift), big - size - int(shift)), margins, regular, twin)
        problems.append(f"big crop {big}: {problem}")
        big += 1
    raise GeometryError(f"{model.arch} at {size} px cannot be aligned with its twin: " + "; ".join(problems))


def _layer_margins(
    regular: dict[str, Axis], twin: dict[str, Axis], shift: float, big: int, size: int
) -> tuple[dict[str, tuple[int, int]], str | None]:
    """Per-layer (top, bottom) margins, or the reason the grids do not line up."""
    if shift != int(shift) or not 0 <= shift <= big - size:
        return {}, f"input margin {shift} is not a whole pixel inside the crop"
    margins = {}
    for name, r in regular.items():
        t = twin[name]
        top = (shift + r.offset - t.offset) / r.stride
        if top != int(top):
            return {}, f"layer {name or 'input'} is misaligned by a fraction ({top}) of its stride"
        bottom = t.size - int(top) - r.size
        if top < 0 or bottom < 0:
            return {}, f"layer {name or 'input'} has a negative margin ({int(top)}, {bottom})"
        margins[name] = (int(top), bottom)
    return margins, None


def align(model: Twinnable, input_size: int | tuple[int, int]) -> Alignment:
    """Derive big crop, input margins and per-layer margins for ``model`` at ``input_size``."""
    hw = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    try:
        axes = (model.align_axis(hw[0], 0), model.align_axis(hw[1], 1))
    except GeometryError as err:  # name the size (once: some messages already do)
        if f"{hw[0]} px" in str(err):
            raise
        raise GeometryError(f"input size {hw[0]}x{hw[1]} px: {err}") from err
    h, w = axes

    def margins(name: str) -> Margins:
        (top, bottom), (left, right) = h.layer_margin[name], w.layer_margin[name]
        return Margins(top, left, bottom, right)

    return Alignment(
        arch=model.arch,
        padding=model.padding,
        input_size=hw,
        big_size=(h.big_size, w.big_size),
        input_margins=Margins(h.input_margin[0], w.input_margin[0], h.input_margin[1], w.input_margin[1]),
        loi_margins={name: margins(path) for name, path in model.loi.items()},
        layer_margins={name: margins(name) for name in h.layer_margin if name in w.layer_margin},
        loi_sizes={name: (h.regular[path].size, w.regular[path].size) for name, path in model.loi.items()},
        axes=axes,
        loi_paths=dict(model.loi),
    )


def min_input_size(model: Twinnable, limit: int = 4096) -> int:
    """Smallest square input whose trunk (up to the last LoI; VGG: all its conv layers) runs.

    ``none`` padding makes this matter most: every padless 3x3 conv eats 2 px, so VGG19
    needs 268 px, ResNet50 427 and EfficientNet-B0 851 (a padded model: 1 px or so).
    ``reflect`` needs every map larger than its pad: EfficientNet-B0's 5x5 convs at stride
    32 need 65 px.
    """

    def fits(size: int) -> bool | None:
        try:
            model.trace(size)
            return True
        except GeometryError:
            return None

    found = smallest(fits, 1, limit)  # feature sizes grow with the input
    if found is None:
        raise GeometryError(f"{model.arch}: even a {limit}-px input does not reach the last layer of interest")
    return found[0]


def input_size_for(model: Twinnable, size: int) -> int:
    """The input ``model`` runs at when ``size`` is asked for: ``size`` itself, or, for a net
    that cannot see it (``none`` padding shrinks every map; ``reflect`` cannot pad a map by
    as much as its size, ``circular`` cannot wrap more than once), its :func:`min_input_size`.
    The one rule that training, extraction and PosENet follow for such models."""
    return size if model.padding not in CLAMPED else max(size, min_input_size(model))
