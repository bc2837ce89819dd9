"""Where each feature-map pixel sits in the input, read off a model's actual layers.

One spatial axis at a time (every kernel here is square): map index ``i`` has its
principal point at ``offset + stride * i`` input pixels and sees the input pixels within
``radius`` of it. A layer with kernel ``k``, stride ``s``, padding ``p``, dilation ``d``
moves the principal point of output ``o`` to ``o*s - p + d*(k-1)/2`` in its own input's
coordinates (the centre of its window, paper App. A); composing that layer by layer gives
the alignment of any model at any input size, for any padding, with no per-architecture table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from torch import nn

T = TypeVar("T")


class GeometryError(ValueError):
    """A model/input-size pair whose feature grids cannot be placed (too small, misaligned)."""


@dataclass(frozen=True)
class Axis:
    """One axis of a feature map in input-pixel coordinates."""

    size: int
    offset: float = 0.0
    stride: int = 1
    radius: float = 0.0

    def through(self, kernel: int, stride: int, pad: int, dilation: int = 1, where: str = "") -> Axis:
        """The axis after a sliding-window layer (``pad`` pixels on each side)."""
        span = dilation * (kernel - 1)
        size = (self.size + 2 * pad - span - 1) // stride + 1
        if size < 1:
            raise GeometryError(
                f"layer {where or '?'} (kernel {kernel}, stride {stride}, pad {pad}) gets a "
                f"{self.size}-px map and would output nothing; use a larger input size"
            )
        return Axis(
            size=size,
            offset=self.offset + self.stride * (span / 2 - pad),
            stride=self.stride * stride,
            radius=self.radius + self.stride * span / 2,
        )

    def receptive_field(self, index: int) -> tuple[float, float]:
        """First and last input pixel that map index ``index`` can depend on."""
        centre = self.offset + self.stride * index
        return centre - self.radius, centre + self.radius


# Layers that do not move pixels: geometry passes through unchanged.
POINTWISE: tuple[type[nn.Module], ...] = (
    nn.BatchNorm2d,
    nn.ReLU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Identity,
    nn.Dropout,
)


def trace(
    module: nn.Module,
    axis: Axis,
    name: str = "",
    record: dict[str, Axis] | None = None,
    padless: bool = False,
) -> Axis:
    """Propagate ``axis`` through ``module``; store each named sub-module's output in ``record``.

    ``padless=True`` traces the padding-free twin of the same layers. A module takes part
    by defining ``window() -> (kernel, stride, pad, dilation)`` (a sliding window),
    ``trace_geometry(axis, name, record, padless)`` (a block with branches), or
    ``pointwise = True``; anything else unknown is an error, never silently ignored.
    """
    if hasattr(module, "trace_geometry"):
        out = module.trace_geometry(axis, name, record, padless)
    elif hasattr(module, "window"):
        kernel, stride, pad, dilation = module.window()
        policy = getattr(module, "pad", None)
        if not padless and hasattr(policy, "fits") and not policy.fits(axis.size):
            raise GeometryError(f"layer {name or '?'}: {policy.scheme} padding of {pad} {policy.needs()}, "
                                f"gets {axis.size} px; use a larger input size")
        out = axis.through(kernel, stride, 0 if padless else pad, dilation, where=name)
    elif isinstance(module, nn.Sequential):
        out = trace_chain(module.named_children(), axis, name, record, padless)
    elif isinstance(module, POINTWISE) or getattr(module, "pointwise", False):
        out = axis
    else:
        raise GeometryError(f"no geometry rule for {type(module).__name__} at {name or 'model'}")
    if record is not None:
        record[name] = out
    return out


def trace_chain(
    children: Iterable[tuple[str, nn.Module]],
    axis: Axis,
    name: str = "",
    record: dict[str, Axis] | None = None,
    padless: bool = False,
) -> Axis:
    """``trace`` through modules applied one after the other."""
    for child_name, child in children:
        axis = trace(child, axis, f"{name}.{child_name}" if name else child_name, record, padless)
    return axis


def shortcut_slice(main: Iterable[tuple[str, nn.Module]], size: int) -> slice:
    """The input slice a 1x1 (or identity) shortcut must see to land on the main path's grid.

    In a padded block both paths start at pixel 0. In the padding-free twin the main path
    starts ``offset`` pixels in, so a stride-1 shortcut is centre-cropped and a stride-2
    one must start on the odd pixel the main path's 3x3/2 window is centred on: one pixel
    off the naive centre crop (paper App. A.2).
    """
    out = trace_chain(main, Axis(size))
    start = out.offset
    if start != int(start):
        raise GeometryError(f"main path principal point {start} is not on the input grid")
    start = int(start)
    return slice(start, start + out.stride * (out.size - 1) + 1)


def smallest(attempt: Callable[[int], T | None], start: int, limit: int) -> tuple[int, T] | None:
    """The smallest ``n`` in ``start..limit`` at which ``attempt(n)`` succeeds (is not None), with its result.

    ``attempt`` must be monotone (once it succeeds, it succeeds at every larger ``n``), as a
    crop that fits does at any larger crop. The search doubles from ``start`` (never past
    ``limit``, which is tried last) until an attempt succeeds, then bisects between the last
    failure and that success. None when even ``limit`` fails.
    """
    lo, hi = start, start
    while (found := attempt(hi)) is None:
        if hi >= limit:
            return None
        lo, hi = hi + 1, min(hi * 2, limit)
    while lo < hi:
        mid = (lo + hi) // 2
        if (result := attempt(mid)) is None:
            lo = mid + 1
        else:
            hi, found = mid, result
    return hi, found
