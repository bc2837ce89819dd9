"""Geometry of a traced CNN along one axis: the regular model, its padless twin, the big crop.

The regular model is :meth:`Axis.through` per window, merges required to agree. The twin
drops every pad, and three kinds of crop keep it on the regular grid: before each strided
window the 0..s-1 leading pixels that put its outputs on the regular grid shifted by the
input margin ``sigma`` (ResNet's 1x1/2 shortcut, paper App. A.2, falls out of this rule); at
each merge the inputs' common extent; at each global pool the region aligned with the
regular map. :func:`solve_axis` searches the smallest big crop and its ``sigma``;
:func:`own_grid_crops` gives the crops of a twin run without an alignment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .geometry import Axis, GeometryError, smallest
from .graph import Plan, Window, ancestors


def _through(a: Axis, w: Window, axis: int, pad: int, ceil: bool, where: str) -> Axis:
    k, s, d = w.kernel[axis], w.stride[axis], w.dilation[axis]
    out = a.through(k, s, pad, d, where=where)
    if ceil:  # PyTorch's ceil_mode: one more window if it starts inside the (left-padded) map
        span = d * (k - 1)
        size = -(-(a.size + 2 * pad - span - 1) // s) + 1
        if (size - 1) * s >= a.size + pad:
            size -= 1
        out = Axis(size, out.offset, out.stride, out.radius)
    return out


def regular_trace(
    plan: Plan, size: int, axis: int, upto: Iterable[str] | None = None, *, check_pads: bool = True
) -> dict[str, Axis]:
    """Each spatial node's :class:`Axis` along ``axis`` (0: height, 1: width) at ``size`` px.

    ``check_pads=False`` skips asking each pad whether its map can take it (``reflect``
    needs a map larger than the pad): for the grid alone, which does not depend on the size."""
    needed = set(upto) if upto is not None else None
    geo: dict[str, Axis] = {}
    for n in plan.order:
        if needed is not None and n not in needed:
            continue
        kind = plan.kind[n]
        if kind == "input":
            geo[n] = Axis(size)
        elif kind == "window":
            w, a = plan.window[n], geo[plan.inputs[n][0]]
            pad = w.pad[axis]
            if check_pads and w.policy is not None and hasattr(w.policy, "fits") and not w.policy.fits(a.size):
                raise GeometryError(f"node {n}: {w.policy.scheme} padding of {pad} {w.policy.needs()}, "
                                    f"gets {a.size} px; use a larger input size")
            geo[n] = _through(a, w, axis, pad, w.ceil, n)
        else:
            geo[n] = _merged(n, [geo[i] for i in plan.inputs[n]])
    return geo


def _merged(n: str, ins: list[Axis]) -> Axis:
    """A pointwise merge of maps of one size and stride: index i joins index i of every input.
    Their centres may differ (DLA's pooled shortcut sits a pixel off its conv branch): the
    merged feature sees the union of the receptive fields, centred on its middle."""
    first = ins[0]
    for other in ins[1:]:
        if (other.size, other.stride) != (first.size, first.stride):
            raise GeometryError(f"node {n}: its inputs have different sizes or strides ({first} vs {other}); "
                                "they cannot be merged")
    lo, hi = min(a.offset - a.radius for a in ins), max(a.offset + a.radius for a in ins)
    return Axis(first.size, (lo + hi) / 2, first.stride, (hi - lo) / 2)


def twin_trace(
    plan: Plan, big: int, sigma: int, regular: dict[str, Axis], axis: int, needed: set[str]
) -> tuple[dict[str, Axis], dict]:
    """The padless twin along ``axis`` on a ``big``-px crop whose regular part starts at ``sigma``.

    Returns each node's twin axis and the crops {(node, input): (leading, trailing)} that keep
    every branch on the regular grid (strided windows) and merges on a common extent.
    """
    geo: dict[str, Axis] = {}
    crops: dict[tuple[str, str], tuple[int, int]] = {}
    for n in plan.order:
        if n not in needed:
            continue
        kind = plan.kind[n]
        if kind == "input":
            geo[n] = Axis(big)
        elif kind == "window":
            src = plan.inputs[n][0]
            w, t = plan.window[n], geo[src]
            k, s, d = w.kernel[axis], w.stride[axis], w.dilation[axis]
            target, step = sigma + regular[n].offset, t.stride * s  # an even kernel: both grids sit on half pixels
            lead = next((c for c in range(s) if (t.offset + t.stride * (c + d * (k - 1) / 2) - target) % step == 0),
                        None)
            if lead is None:
                raise GeometryError(f"node {n}: the twin's grid is off the regular grid by a fraction of a stride")
            if lead:
                crops[(n, src)] = (lead, 0)
            cropped = Axis(t.size - lead, t.offset + t.stride * lead, t.stride, t.radius)
            geo[n] = _through(cropped, w, axis, 0, False, n)
        else:
            # Offsets relative to each input's regular grid: the crops join twin pixels that
            # stand for the same regular index (inputs may be centred differently, see _merged).
            ins = plan.inputs[n]
            axes = [geo[i] for i in ins]
            rel = [a.offset - regular[i].offset for i, a in zip(ins, axes, strict=True)]
            step = axes[0].stride
            start = max(rel)
            end = min(r + step * (a.size - 1) for r, a in zip(rel, axes, strict=True))
            if end < start:
                raise GeometryError(f"node {n}: the twin's inputs do not overlap; use a larger input size")
            for i, a, r in zip(ins, axes, rel, strict=True):
                if a.stride != step or (r - start) % step:
                    raise GeometryError(f"node {n}: the twin's inputs {ins} sit on different grids")
                lead, trail = int((start - r) // step), int((r + step * (a.size - 1) - end) // step)
                if lead or trail:
                    crops[(n, i)] = (lead, trail)
            geo[n] = Axis(int((end - start) // step) + 1, start + regular[n].offset, step, regular[n].radius)
    return geo, crops


def margins(r: Axis, t: Axis, sigma: int) -> tuple[int, int] | None:
    """(top, bottom) of the twin map around the regular one, or None where it does not cover it."""
    top = (sigma + r.offset - t.offset) / r.stride
    if top != int(top) or t.stride != r.stride:
        return None
    bottom = t.size - int(top) - r.size
    return (int(top), bottom) if top >= 0 and bottom >= 0 else None


def _sigma_range(plan: Plan, regular: dict, twin: dict, covered: Iterable[str]) -> tuple[float, float]:
    """The input margins for which the twin covers the regular map at every ``covered`` node."""
    lo, hi = -math.inf, math.inf
    for n in covered:
        r, t = regular[n], twin[n]
        lo = max(lo, t.offset - r.offset)
        hi = min(hi, t.offset - r.offset + r.stride * (t.size - r.size))
    return lo, hi


@dataclass
class Solution:
    big: int
    sigma: int
    twin: dict[str, Axis]
    crops: dict


def solve_axis(
    plan: Plan, size: int, axis: int, taps: Iterable[str], name: str = "model"
) -> tuple[dict[str, Axis], Solution]:
    """The smallest big crop (and input margin) whose twin covers every tap and every global
    pool's input before them, with the twin's crops. Raises GeometryError when none exists."""
    taps = list(taps)
    needed = ancestors(plan, taps)
    regular = regular_trace(plan, size, axis, needed)
    pooled = [i for n, kind in plan.kind.items() if kind == "global" and n in needed for i in plan.inputs[n]]
    covered = list(dict.fromkeys([*taps, *pooled]))
    period = math.lcm(*(int(a.stride) for a in regular.values()))

    def attempt(big: int) -> Solution | None:
        best = None
        for residue in range(period):
            try:
                twin, _ = twin_trace(plan, big, residue, regular, axis, needed)
            except GeometryError:
                continue
            lo, hi = _sigma_range(plan, regular, twin, covered)
            lo, hi = max(lo, 0), min(hi, big - size)
            first = residue + period * math.ceil((lo - residue) / period)
            if first > hi:
                continue
            centre = (big - size) / 2  # several margins fit: take the one nearest the centre
            k = round((centre - first) / period)
            sigma = int(min(max(first + period * k, first), first + period * ((hi - first) // period)))
            if best is None or abs(sigma - centre) < abs(best - centre):
                best = sigma
        if best is None:
            return None
        twin, crops = twin_trace(plan, big, best, regular, axis, needed)
        for n in pooled:  # each global pool sees only the region aligned with the regular map
            top, bottom = margins(regular[n], twin[n], best)
            for consumer in (c for c, kind in plan.kind.items() if kind == "global" and n in plan.inputs[c]):
                crops[(consumer, n)] = (top, bottom)
        return Solution(big, best, twin, crops)

    found = smallest(attempt, size, 64 * size + 4096)
    if found is None:
        raise GeometryError(f"{name} at {size} px: no big crop lets the padding-free twin cover the taps {taps}")
    return regular, found[1]


def own_grid_crops(plan: Plan, size: int, axis: int, taps: Iterable[str]) -> dict:
    """The crops {(node, input): (leading, trailing)} of a twin run on a ``size``-px input
    without an alignment: no crop before a global pool (it sees the whole map), and the
    branches of every merge on one grid with a common extent, as :func:`twin_trace` gives them.

    Which grid: of the input margins that keep every merge on one grid, the one at which
    each strided window drops the fewest leading pixels, earlier windows first (a
    torchvision ResNet's main path keeps its first pixel, its 1x1/2 shortcut starts one
    pixel in, as the built-in ``Residual.shortcut_input`` crops it).
    """
    needed = ancestors(plan, taps)
    regular = regular_trace(plan, size, axis, needed, check_pads=False)  # only its grid is used
    windows = [n for n in plan.order if plan.kind[n] == "window" and n in needed]
    period = math.lcm(*(int(a.stride) for a in regular.values()))
    best, problem = None, ""
    for residue in range(period):
        try:
            _, crops = twin_trace(plan, size, residue, regular, axis, needed)
        except GeometryError as err:
            problem = problem or str(err)
            continue
        leads = tuple(crops.get((n, plan.inputs[n][0]), (0, 0))[0] for n in windows)
        if best is None or leads < best[0]:
            best = (leads, crops)
    if best is None:
        raise GeometryError(f"the padding-free twin cannot run on a {size}-px input: {problem}")
    return best[1]
