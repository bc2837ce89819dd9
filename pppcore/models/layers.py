"""Building blocks shared by the model families.

They keep torchvision's parameter names (so its checkpoints load unchanged) and add two
things torchvision's layers lack: padding as a policy (:mod:`pppcore.padding`) and the
hooks the padding-free twin needs (shortcut crops, an aligned squeeze-excitation pool).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from ..geometry import Axis, shortcut_slice, trace_chain
from ..padding import NoPad2d, circular_pad, make_pad

if TYPE_CHECKING:
    from ..alignment import Alignment

M = TypeVar("M", bound=nn.Module)


class PadConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose padding is a swappable ``Pad2d`` applied to a pre-activation.

    The paper orders layers conv-norm-pad-act (App. A.3): ``randn`` must see the
    statistics of the map *before* the ReLU/SiLU clips it. So a conv that follows an
    activation owns that activation (``act``) and runs ``conv(act(pad(x)))``; the layer
    before it leaves its activation slot empty. For every other scheme this is the same
    function as the usual order, since ReLU and SiLU map 0 to 0 and commute with copies.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        groups: int = 1,
        bias: bool = True,
        *,
        scheme: str = "zeros",
        act: nn.Module | None = None,
        dilation: int = 1,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, groups, bias)
        self.pad = make_pad(scheme if padding else "none", padding, window=kernel_size)
        self.act = act if act is not None else nn.Identity()

    def window(self) -> tuple[int, int, int, int]:
        return self.kernel_size[0], self.stride[0], self.pad.amount, self.dilation[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.act(self.pad(x)))


class PolicyPad2d(nn.Module):
    """An explicit ``F.pad`` of a converted model (symmetric, zeros) as the padding policy: a
    window of kernel 1 that pads ``amount`` pixels, so all six schemes and the twin apply."""

    def __init__(self, amount: int, scheme: str = "zeros") -> None:
        super().__init__()
        self.pad = make_pad(scheme, amount)

    def window(self) -> tuple[int, int, int, int]:
        return 1, 1, self.pad.amount, 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pad(x)


class PadMaxPool2d(nn.MaxPool2d):
    """Max-pooling that keeps its own padding semantics (pads -inf), except under ``circular``.

    Under ``none`` it does not pad at all. Under ``circular`` the map wraps around, so the pool wraps too: that keeps a
    circularly padded network exact on periodic images. ``reflect`` and ``replicate``
    would pad with values already inside the window, which is the same maximum as -inf.
    """

    def __init__(self, kernel_size: int, stride: int, padding: int = 0, *, scheme: str = "zeros") -> None:
        super().__init__(kernel_size, stride, 0 if scheme == "none" else padding)
        self.circular = scheme == "circular"

    def window(self) -> tuple[int, int, int, int]:
        return self.kernel_size, self.stride, self.padding, 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.circular and self.padding:
            x = circular_pad(x, self.padding)  # same values and gradient as F.pad, laid out like x
            return F.max_pool2d(x, self.kernel_size, self.stride)
        return super().forward(x)


class SqueezeExcitation(nn.Module):
    """torchvision's SE block, plus ``region``: the twin pools only over the pixels
    aligned with the regular map (top, left, bottom, right margins), not its whole map."""

    pointwise = True

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.SiLU()
        self.scale_activation = nn.Sigmoid()
        self.region: tuple[int, int, int, int] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seen = x
        if self.region is not None:
            top, left, bottom, right = self.region
            seen = x[..., top : x.shape[-2] - bottom, left : x.shape[-1] - right]
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(seen)))))
        return scale * x


class Residual(nn.Module):
    """Base for blocks ``main(x) + shortcut(x)`` whose twin must crop the shortcut input."""

    def main_path(self) -> list[tuple[str, nn.Module]]:
        raise NotImplementedError

    def shortcut_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` cropped so the shortcut's outputs sit on the main path's principal points.

        The slices are traced once per input size and kept (``forget_geometry`` drops them
        when the main path's pads change, as :func:`padless_copy` does)."""
        h, w = x.shape[-2:]
        slices = self.__dict__.setdefault("_shortcut_slices", {})
        if (h, w) not in slices:
            slices[(h, w)] = shortcut_slice(self.main_path(), h), shortcut_slice(self.main_path(), w)
        rows, cols = slices[(h, w)]
        if rows.start == 0 and cols.start == 0:
            return x  # padded block: both paths already start at pixel 0
        return x[..., rows, cols]

    def forget_geometry(self) -> None:
        """Drop the shortcut slices traced so far (their main path's pads have changed)."""
        self.__dict__.pop("_shortcut_slices", None)

    def trace_geometry(self, axis: Axis, name: str, record: dict | None, padless: bool) -> Axis:
        return trace_chain(self.main_path(), axis, name, record, padless)


class StochasticDepth(nn.Module):
    """Drop a residual branch per sample with probability ``p`` in training (torchvision's
    ``StochasticDepth(p, "row")``, parameter-free); the identity in eval mode, where PPP is measured."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask.div_(keep)


def has_padding(model: nn.Module) -> bool:
    """Whether any conv, max pool or explicit pad of ``model`` pads."""
    return any(
        (isinstance(m, PadConv2d | PolicyPad2d) and m.pad.amount) or (isinstance(m, PadMaxPool2d) and m.padding)
        for m in model.modules()
    )


def padless_copy(model: M) -> M:
    """A copy of ``model``'s module tree sharing its parameters and buffers, with every pad
    removed: convs and explicit pads pad nothing, max pools neither pad nor wrap, and
    ``ceil_mode`` pools drop the window that would hang over the edge."""
    shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
    twin = copy.deepcopy(model, shared)
    for m in twin.modules():
        if isinstance(m, PadConv2d | PolicyPad2d):
            m.pad = NoPad2d()
        elif isinstance(m, PadMaxPool2d):
            m.padding, m.circular = 0, False
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            m.ceil_mode = False
    for m in twin.modules():
        if isinstance(m, Residual):
            m.forget_geometry()
    return twin


def set_se_regions(twin: nn.Module, alignment: Alignment) -> None:
    """Point every SE block of ``twin`` at the pixels aligned with the regular map."""
    for name, m in twin.named_modules():
        if isinstance(m, SqueezeExcitation):
            m.region = alignment.layer_margins[name].as_tuple()
