"""Any CNN's padding as the project's swappable policy (issue 12, first part).

``convert(model, padding)`` returns a copy of ``model`` (torchvision, timm or user code) in
which every padded ``nn.Conv2d`` becomes a :class:`~pppcore.models.layers.PadConv2d` and
every padded ``nn.MaxPool2d`` a :class:`~pppcore.models.layers.PadMaxPool2d` with the scheme
``padding``: the five padded schemes apply (``none`` needs the twin's merge crops, next),
``state_dict()`` keys and shapes stay the input model's,
and with ``padding="zeros"`` the outputs equal the original's. What cannot be expressed as a
symmetric pad of the policy (an average pool that pads, a strided ``ceil_mode`` pool that
pads, unequal pads per axis, an even kernel under ``padding="same"``) is refused before
anything runs, with the module's name. Geometry and the twin of a converted model are the
next part of the issue: ``align`` and ``measure_ppp`` still take the built-in models only.
"""

from __future__ import annotations

import copy

from torch import nn

from .geometry import GeometryError
from .models.layers import PadConv2d, PadMaxPool2d
from .padding import check_padding


def _square(value, what: str, name: str) -> int:
    """``value`` (int or pair) as one int; unequal axes are refused."""
    a, b = (value, value) if isinstance(value, int) else tuple(value)
    if a != b:
        raise GeometryError(f"{name}: {what} {tuple(value)} differs between the axes; only square windows can be converted")
    return int(a)


def _conv_pad(conv: nn.Conv2d, name: str) -> int:
    kernel, dilation = _square(conv.kernel_size, "kernel", name), _square(conv.dilation, "dilation", name)
    if conv.padding == "valid":
        return 0
    if conv.padding == "same":
        span = dilation * (kernel - 1)
        if span % 2:
            raise GeometryError(f"{name}: padding 'same' with kernel {kernel}, dilation {dilation} pads unequally; not convertible")
        return span // 2
    return _square(conv.padding, "padding", name)


def _converted_conv(conv: nn.Conv2d, name: str, padding: str) -> nn.Module:
    pad = _conv_pad(conv, name)
    if not pad:
        return conv
    new = PadConv2d(conv.in_channels, conv.out_channels, _square(conv.kernel_size, "kernel", name), _square(conv.stride, "stride", name),
                    pad, conv.groups, conv.bias is not None, scheme=padding, dilation=_square(conv.dilation, "dilation", name))
    new.load_state_dict(conv.state_dict())
    return new.to(device=conv.weight.device, dtype=conv.weight.dtype)


def _converted_pool(pool: nn.Module, name: str, padding: str) -> nn.Module:
    pad = _square(pool.padding, "padding", name)
    if not pad:
        return pool
    if isinstance(pool, nn.AvgPool2d):
        raise GeometryError(f"{name}: an average pool that pads ({pad} px) mixes the padding into its mean; not convertible")
    stride = _square(pool.stride, "stride", name)
    if _square(pool.dilation, "dilation", name) != 1 or (pool.ceil_mode and stride != 1) or pool.return_indices:
        raise GeometryError(f"{name}: a padded max pool with dilation, return_indices or ceil_mode at stride {stride} is not convertible")
    return PadMaxPool2d(_square(pool.kernel_size, "kernel", name), stride, pad, scheme=padding)


def _pads(conv: nn.modules.conv._ConvNd) -> bool:
    return conv.padding != "valid" if isinstance(conv.padding, str) else any(conv.padding)


def convert(model: nn.Module, padding: str = "zeros") -> nn.Module:
    """A copy of ``model`` with every padded conv and max pool under the scheme ``padding``
    (``none`` is refused: a padless branch shrinks, and merging it needs the twin's crops)."""
    check_padding(padding)
    if padding == "none":
        raise ValueError("convert: padding 'none' shrinks every branch and needs aligned crops at each merge "
                         "(add, cat); not supported for converted models yet, use one of the five padded schemes")
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if type(child) is nn.Conv2d:
                setattr(module, child_name, _converted_conv(child, full, padding))
            elif type(child) in (nn.MaxPool2d, nn.AvgPool2d):
                setattr(module, child_name, _converted_pool(child, full, padding))
            elif isinstance(child, nn.modules.conv._ConvNd) and not isinstance(child, PadConv2d) and _pads(child):
                raise GeometryError(f"{full}: {type(child).__name__} pads and is not convertible")
    return model
