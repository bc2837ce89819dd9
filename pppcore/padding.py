"""The six padding schemes of the paper as small swappable policies.

Every padded layer in :mod:`pppcore.models` owns one ``Pad2d`` chosen by a single string,
so switching a whole network from ``zeros`` to ``randn`` (or building its padding-free
twin) is a matter of swapping these modules; no layer re-implements padding itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PADDINGS: tuple[str, ...] = ("zeros", "circular", "reflect", "replicate", "randn", "none")


def check_padding(name: str) -> str:
    """Return ``name`` if it is a known scheme, else raise a ``ValueError`` listing them."""
    if name not in PADDINGS:
        raise ValueError(f"unknown padding {name!r}; allowed: {', '.join(PADDINGS)}")
    return name


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
        return F.pad(x, [self.amount] * 4) if self.amount else x


class ModePad2d(Pad2d):
    """``circular``, ``reflect`` and ``replicate``: copies of real pixels, via ``F.pad``."""

    def __init__(self, amount: int, mode: str) -> None:
        super().__init__(amount)
        self.scheme = mode

    def needs(self) -> str:
        return f"needs a map larger than {self.amount} px" if self.scheme == "reflect" else f"needs a map of at least {self.amount} px"

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
        return F.pad(x, [self.amount] * 4, mode=self.scheme)


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
        top = self._draw(x[..., :kh, :], (kh, kw), cols, a, along_rows=False)
        bottom = self._draw(x[..., h - kh :, :], (kh, kw), cols, a, along_rows=False)
        left = self._draw(x[..., :, :kw], (kh, kw), rows[a : a + h], a, along_rows=True)
        right = self._draw(x[..., :, w - kw :], (kh, kw), rows[a : a + h], a, along_rows=True)
        middle = torch.cat([left, x, right], dim=-1)
        return torch.cat([top, middle, bottom], dim=-2)

    def _draw(self, strip: torch.Tensor, kernel: tuple[int, int], index: torch.Tensor, a: int, along_rows: bool) -> torch.Tensor:
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

