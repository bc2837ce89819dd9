"""The six padding schemes of the paper as small swappable policies.

Every padded layer in :mod:`pppcore.models` owns one ``Pad2d`` chosen by a single string,
so switching a whole network from ``zeros`` to ``randn`` (or building its padding-free
twin) is a matter of swapping these modules; no layer re-implements padding itself.

Every pad returns its map in the memory format of its input (``train.memory_format:
channels_last``): an NCHW pad output in an NHWC network makes the next conv convert it and
hands the layer before an NCHW gradient. Values and input gradients are the same in either
format; NHWC training steps ran up to 2x faster than with the former NCHW outputs
(EfficientNet-B0 circular; benchmarks/results/padding_format.csv).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from .names import PADDINGS


def check_padding(name: str) -> str:
    """Return ``name`` if it is a known scheme, else raise a ``ValueError`` listing them."""
    if name not in PADDINGS:
        raise ValueError(f"unknown padding {name!r}; allowed: {', '.join(PADDINGS)}")
    return name


def memory_format_of(x: torch.Tensor) -> torch.memory_format:
    """``torch.channels_last`` for an NHWC-laid-out ``N x C x H x W`` map, else ``torch.contiguous_format``.

    Ambiguous maps are told apart by their strides as ``torch`` does: an ``N x C x 1 x 1``
    map from ``.to(memory_format=torch.channels_last)`` has strides ``(C, 1, C, C)`` and is
    NHWC, a contiguous one ``(C, 1, 1, 1)`` is NCHW; with ``C == 1`` both layouts are the
    same memory and NCHW is returned. Non-dense maps (slices) count as NCHW, as before.
    """
    if x.dim() != 4 or not x.is_contiguous(memory_format=torch.channels_last):
        return torch.contiguous_format
    if not x.is_contiguous() or x.stride(1) < x.stride(3):
        return torch.channels_last
    return torch.contiguous_format


def _in_format(out: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    """``out`` laid out NHWC when ``fmt`` asks for it (no copy when it already is), else as it is.

    ``clone``, not ``contiguous``: an ``N x C x 1 x 1`` NCHW band counts as contiguous in
    both formats, and ``contiguous`` would keep its NCHW strides (then ``torch.cat`` writes NCHW).
    """
    if fmt == torch.channels_last and memory_format_of(out) != fmt:
        return out.clone(memory_format=fmt)
    return out


class Pad2d(nn.Module):
    """Pads ``amount`` pixels on every side of an ``N x C x H x W`` map."""

    scheme: str = ""

    def __init__(self, amount: int) -> None:
        super().__init__()
        if amount < 0:
            raise ValueError(f"padding amount must be >= 0, got {amount}")
        self.amount = int(amount)

    def fits(self, size: int) -> bool:
        """Whether a map of ``size`` px per side can take this pad (the geometry trace asks too)."""
        return True

    def needs(self) -> str:
        """What ``fits`` asks of a map, in words (for errors)."""
        return "needs a larger map"

    def extra_repr(self) -> str:
        return f"{self.scheme}, amount={self.amount}"


class NoPad2d(Pad2d):
    """Scheme ``none``: no padding, the map shrinks by the kernel's reach."""

    scheme = "none"

    def __init__(self, amount: int = 0) -> None:
        super().__init__(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class ZerosPad2d(Pad2d):
    scheme = "zeros"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.amount:
            return x
        # F.pad's constant mode keeps an NHWC input NHWC already; the check costs nothing then.
        return _in_format(F.pad(x, [self.amount] * 4), memory_format_of(x))


class ModePad2d(Pad2d):
    """``circular``, ``reflect`` and ``replicate``: copies of real pixels, via ``F.pad``."""

    def __init__(self, amount: int, mode: str) -> None:
        super().__init__(amount)
        self.scheme = mode

    def needs(self) -> str:
        return (f"needs a map larger than {self.amount} px" if self.scheme == "reflect"
                else f"needs a map of at least {self.amount} px")

    def fits(self, size: int) -> bool:
        """``reflect`` mirrors the map about its edge pixel: it needs more pixels than it pads;
        ``circular`` wraps at most once: it needs at least as many."""
        if self.scheme == "reflect":
            return not (self.amount and size <= self.amount)
        return not (self.scheme == "circular" and size < self.amount)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.amount:
            return x
        if not self.fits(min(x.shape[-2:])):
            raise ValueError(
                f"{self.scheme} padding of {self.amount} {self.needs()}, "
                f"got {tuple(x.shape[-2:])}; use a larger input size"
            )
        if self.scheme == "circular":
            return circular_pad(x, self.amount)
        return _in_format(F.pad(x, [self.amount] * 4, mode=self.scheme), memory_format_of(x))


def circular_pad(x: torch.Tensor, amount: int) -> torch.Tensor:
    """``F.pad(x, [amount] * 4, mode="circular")``, same values and input gradient, laid out like ``x``."""
    return _CircularPad.apply(x, amount) if x.dim() == 4 and amount else F.pad(x, [amount] * 4, mode="circular")


class _CircularPad(torch.autograd.Function):
    """``F.pad(x, [a] * 4, mode="circular")`` of an ``N x C x H x W`` map, in the map's memory format.

    ``F.pad``'s circular mode writes NCHW whatever its input, and its autograd replays its
    slice copies (a clone and a fill of the whole padded gradient per copy: most of a circular
    net's extra step time). Here the forward is one copy into a map laid out like ``x``, and
    the backward adds each pad pixel's gradient onto the pixel it copies, in the order
    ``F.pad``'s autograd does (the bottom, top, right and left pads; corners through the rows
    first), so the values and the input gradient are bit-identical to ``F.pad``'s.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, a: int) -> torch.Tensor:
        ctx.a, ctx.fmt = a, memory_format_of(x)
        *lead, h, w = x.shape
        out = torch.empty((*lead, h + 2 * a, w + 2 * a), dtype=x.dtype, device=x.device, memory_format=ctx.fmt)
        out[..., a : a + h, a : a + w] = x
        out[..., a : a + h, :a] = x[..., w - a :]
        out[..., a : a + h, a + w :] = x[..., :a]
        out[..., :a, :] = out[..., h : h + a, :]
        out[..., a + h :, :] = out[..., a : 2 * a, :]
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        a = ctx.a
        h, w = g.shape[-2] - 2 * a, g.shape[-1] - 2 * a
        rows, cols = slice(a, a + h), slice(a, a + w)
        gx = g[..., rows, cols].clone(memory_format=ctx.fmt)
        gx[..., :a, :] += g[..., a + h :, cols]  # the bottom pad copies the first rows
        gx[..., h - a :, :] += g[..., :a, cols]  # the top pad copies the last rows
        left, right = g[..., rows, :a].clone(), g[..., rows, a + w :].clone()  # with their corners folded in
        for band, span in ((left, slice(0, a)), (right, slice(a + w, None))):
            band[..., :a, :] += g[..., a + h :, span]
            band[..., h - a :, :] += g[..., :a, span]
        gx[..., :, :a] += right  # the right pad copies the first columns
        gx[..., :, w - a :] += left
        return gx, None


class RandnPad2d(Pad2d):
    """Scheme ``randn`` (paper Sec 2.4, App A.3).

    Each pad pixel is drawn from N(mu, sigma^2) of the nearest ``window x window`` window of
    the unpadded map, with mu = (max + min) / 2 and sigma = max - mu. It is stochastic in
    eval mode too (that is the point: no fixed pattern to detect); the draws come from a
    per-device generator seeded with ``seed`` so runs repeat exactly.
    """

    scheme = "randn"

    def __init__(self, amount: int, window: int = 3, seed: int = 0) -> None:
        super().__init__(amount)
        self.window = int(window)
        self.seed = int(seed)
        self._generators: dict[str, torch.Generator] = {}

    def reseed(self, seed: int) -> None:
        self.seed = int(seed)
        self._generators.clear()

    def _generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def __deepcopy__(self, memo: dict) -> RandnPad2d:
        clone = RandnPad2d(self.amount, self.window, self.seed)
        clone.training = self.training
        return clone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.amount
        if not a:
            return x
        h, w = x.shape[-2:]
        kh, kw = min(self.window, h), min(self.window, w)
        # Nearest window of each padded row/column: clamp the window's first index.
        rows = (torch.arange(-a, h + a, device=x.device) - (kh - 1) // 2).clamp(0, h - kh)
        cols = (torch.arange(-a, w + a, device=x.device) - (kw - 1) // 2).clamp(0, w - kw)
        # Only windows touching the border are ever nearest to a pad pixel, so pool the
        # four border strips instead of the whole map (much cheaper, same values).
        # The noise is drawn in the logical N x C x band shape, in this order, whatever the
        # layout of x: the same numbers land on the same pixels in NCHW and NHWC. The small
        # bands then take x's layout, so the concatenations keep it too.
        fmt = memory_format_of(x)
        top = _in_format(self._draw(x[..., :kh, :], (kh, kw), cols, a, along_rows=False), fmt)
        bottom = _in_format(self._draw(x[..., h - kh :, :], (kh, kw), cols, a, along_rows=False), fmt)
        left = _in_format(self._draw(x[..., :, :kw], (kh, kw), rows[a : a + h], a, along_rows=True), fmt)
        right = _in_format(self._draw(x[..., :, w - kw :], (kh, kw), rows[a : a + h], a, along_rows=True), fmt)
        middle = torch.cat([left, x, right], dim=-1)
        return torch.cat([top, middle, bottom], dim=-2)

    def _draw(self, strip: torch.Tensor, kernel: tuple[int, int], index: torch.Tensor, a: int,
              along_rows: bool) -> torch.Tensor:
        """Samples for an ``a``-wide pad band beside ``strip`` (the border windows' source)."""
        hi = F.max_pool2d(strip, kernel, stride=1)
        lo = -F.max_pool2d(-strip, kernel, stride=1)
        if along_rows:  # a column band: one window column, windows indexed by row
            hi, lo = hi[..., index, :], lo[..., index, :]
            shape = (*strip.shape[:-2], len(index), a)
        else:  # a row band: one window row, windows indexed by column
            hi, lo = hi[..., index], lo[..., index]
            shape = (*strip.shape[:-2], a, len(index))
        mu = (hi + lo) / 2
        noise = torch.randn(shape, generator=self._generator(strip.device), device=strip.device, dtype=strip.dtype)
        return mu + (hi - mu) * noise

    def extra_repr(self) -> str:
        return f"randn, amount={self.amount}, window={self.window}, seed={self.seed}"


def make_pad(scheme: str, amount: int, window: int = 3, seed: int = 0) -> Pad2d:
    """Build the padding policy ``scheme`` that adds ``amount`` pixels per side.

    ``window`` (the consuming conv's kernel size) and ``seed`` matter only for ``randn``.
    """
    check_padding(scheme)
    if scheme == "none":
        return NoPad2d()
    if scheme == "zeros":
        return ZerosPad2d(amount)
    if scheme == "randn":
        return RandnPad2d(amount, window, seed)
    return ModePad2d(amount, scheme)


def seed_randn(model: nn.Module, seed: int) -> None:
    """Give every ``randn`` pad of ``model`` its own stream: ``seed + layer index``."""
    for i, pad in enumerate(m for m in model.modules() if isinstance(m, RandnPad2d)):
        pad.reseed(seed + i)

