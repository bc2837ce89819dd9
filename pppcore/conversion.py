"""Any CNN under the project's padding policy, traced for PPP.

``convert(model, padding, taps)`` returns a :class:`~pppcore.graph_model.GraphModel`: a copy
of ``model`` (torchvision, timm or user code) in which every padded ``nn.Conv2d`` becomes a
:class:`~pppcore.models.layers.PadConv2d`, every padded ``nn.MaxPool2d`` a
:class:`~pppcore.models.layers.PadMaxPool2d` and every explicit symmetric zero ``F.pad`` a
policy pad, all with the scheme ``padding``. ``state_dict()`` keys and shapes stay the input
model's, and with ``padding="zeros"`` the outputs equal the original's. The graph analysis
(:mod:`pppcore.graph`) and geometry (:mod:`pppcore.graph_geometry`) let ``align``,
``make_twin`` and ``measure_ppp`` take the result like a built-in model. What cannot be
expressed as a symmetric pad of the policy (an average pool that pads, a strided
``ceil_mode`` pool that pads, unequal pads per axis, an even kernel under
``padding="same"``) or followed exactly by the geometry is refused before anything runs,
naming the module or node.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from torch import fx, nn

from .geometry import GeometryError
from .graph import analyse, build_graph, check_taps, check_trunk, resolve_taps
from .graph_geometry import regular_trace
from .graph_model import GraphModel
from .models.layers import PadConv2d, PadMaxPool2d
from .padding import check_padding


def _square(value, what: str, name: str) -> int:
    """``value`` (int or pair) as one int; unequal axes are refused."""
    a, b = (value, value) if isinstance(value, int) else tuple(value)
    if a != b:
        raise GeometryError(f"{name}: {what} {tuple(value)} differs between the axes; "
                            "only square windows can be converted")
    return int(a)


def _conv_pad(conv: nn.Conv2d, name: str) -> int:
    kernel, dilation = _square(conv.kernel_size, "kernel", name), _square(conv.dilation, "dilation", name)
    if conv.padding == "valid":
        return 0
    if conv.padding == "same":
        span = dilation * (kernel - 1)
        if span % 2:
            raise GeometryError(f"{name}: padding 'same' with kernel {kernel}, dilation {dilation} pads unequally; "
                                "not convertible")
        return span // 2
    return _square(conv.padding, "padding", name)


def _converted_conv(conv: nn.Conv2d, name: str, padding: str) -> nn.Module:
    pad = _conv_pad(conv, name)
    if not pad:
        return conv
    kernel, stride = _square(conv.kernel_size, "kernel", name), _square(conv.stride, "stride", name)
    new = PadConv2d(conv.in_channels, conv.out_channels, kernel, stride, pad, conv.groups, conv.bias is not None,
                    scheme=padding, dilation=_square(conv.dilation, "dilation", name))
    new.load_state_dict(conv.state_dict())
    return new.to(device=conv.weight.device, dtype=conv.weight.dtype)


def _converted_pool(pool: nn.Module, name: str, padding: str) -> nn.Module:
    pad = _square(pool.padding, "padding", name)
    if not pad:
        return pool
    if isinstance(pool, nn.AvgPool2d):
        raise GeometryError(f"{name}: an average pool that pads ({pad} px) mixes the padding into its mean; "
                            "not convertible")
    stride = _square(pool.stride, "stride", name)
    if _square(pool.dilation, "dilation", name) != 1 or (pool.ceil_mode and stride != 1) or pool.return_indices:
        raise GeometryError(f"{name}: a padded max pool with dilation, return_indices or ceil_mode at stride {stride} "
                            "is not convertible")
    return PadMaxPool2d(_square(pool.kernel_size, "kernel", name), stride, pad, scheme=padding)


def _pads(conv: nn.modules.conv._ConvNd) -> bool:
    return conv.padding != "valid" if isinstance(conv.padding, str) else any(conv.padding)


def replace_padded_layers(model: nn.Module, padding: str) -> nn.Module:
    """``model`` (changed in place) with every padded conv and max pool under the scheme ``padding``."""
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


def convert(
    model: nn.Module,
    padding: str = "zeros",
    taps: Mapping[str, str] | None = None,
    *,
    arch: str | None = None,
    probe_size: int = 128,
    in_channels: int = 3,
) -> GraphModel:
    """``model`` as a :class:`~pppcore.graph_model.GraphModel` under the padding scheme ``padding``.

    ``taps`` ({name: module path or fx node name}) are where PPP is measured; by default the
    last node at each output stride 4, 8, 16 and 32. The model runs in eval mode (dropout and
    stochastic depth off). ``probe_size`` is the input of the three probe runs that find the
    spatial dimensions of every node (any size the model accepts). What PPP cannot follow
    exactly (a flatten into tokens, attention or linear mixing over space before a tap, a
    spatial slice or resize, an unknown op) is refused here, naming the node.
    ``none`` is refused: the twin is the padding-free model, already measured against.
    """
    check_padding(padding)
    if padding == "none":
        raise ValueError("convert: padding 'none' is the twin itself (every converted model is measured against it); "
                         "use one of the five padded schemes")
    model = replace_padded_layers(copy.deepcopy(model), padding).eval()
    graph = build_graph(model, padding)
    plan = analyse(fx.GraphModule(model, graph), probe_size, in_channels)
    if taps is None:
        check_trunk(plan, graph)
    tapped = resolve_taps(graph, plan, taps, regular_trace(plan, probe_size, 0))
    check_taps(plan, tapped, graph)
    return GraphModel(model, graph, plan, tapped, {"arch": arch or type(model).__name__.lower(), "padding": padding})
