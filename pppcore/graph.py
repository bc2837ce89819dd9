"""Any CNN as a traced ``torch.fx`` graph: geometry through merges, an aligned twin, default taps.

The built-in models describe their trunk by hand (``PPPModel.trace``). A converted model has
no such description, so it is read off the graph: every node gets a *kind* from what it does
and how its output's shape follows the input size (three probe runs, the height and the width
grown in turn, tell which tensor dimensions are spatial):

- ``window``: a conv or pool (kernel, stride, pad, dilation per axis) on a spatial map;
- ``point``: an op that keeps the grid (activations, norms over channels, ``add``/``mul``/
  ``cat`` merges, channel shuffles, permutes that keep both axes);
- ``global``: a pool over the whole map (squeeze-excitation, the classifier head);
- ``const``: no spatial input (a pooled vector, a parameter);
- ``error``: anything that moves or mixes positions (a flatten into tokens, attention, a
  spatial slice, an upsampling, an unknown op): PPP cannot be made exact through it.

The regular model's geometry is :meth:`Axis.through` per window, with merges required to
agree. The twin (no padding) needs more than dropping pads: a branch that strides from a
padless input lands on other pixels than its sibling (ResNet's 1x1/2 shortcut, paper App.
A.2), so before each strided window the twin crops the 0..s-1 leading pixels that put its
outputs on the regular grid (shifted by the input margin ``sigma``); at each merge it crops
every input to the common extent; each global pool sees only the region aligned with the
regular map. ``sigma`` and the big crop are searched: the smallest big crop whose twin covers
every tap.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from .alignment import Alignment, AxisAlignment
from .geometry import Axis, GeometryError
from .models.layers import PadConv2d, PadMaxPool2d, PolicyPad2d
from .padding import NoPad2d

STRIDES = (4, 8, 16, 32)
PROBE_GROWTH = 64

# Modules and ops that keep every position where it is (checked against the probe shapes).
POINT_MODULES = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm, nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Hardsigmoid,
    nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.Mish, nn.PReLU, nn.Softplus, nn.Dropout, nn.Dropout2d, nn.AlphaDropout,
    nn.Identity, nn.Flatten, nn.LayerNorm, nn.Linear, nn.Softmax,
)
POINT_OPS = frozenset({
    "add", "iadd", "sub", "mul", "imul", "truediv", "div", "neg", "relu", "relu_", "relu6", "silu", "gelu", "sigmoid", "sigmoid_",
    "tanh", "hardswish", "hardsigmoid", "hardtanh", "leaky_relu", "elu", "mish", "softplus", "clamp", "clamp_min", "clamp_max",
    "add_", "mul_", "dropout", "dropout2d", "contiguous", "to", "float", "double", "half", "type_as", "stochastic_depth", "abs",
    "exp", "sqrt", "rsqrt", "pow", "batch_norm", "permute", "transpose", "view", "reshape", "flatten", "cat", "concat", "chunk",
    "split", "getitem", "unsqueeze", "squeeze", "expand_as", "layer_norm", "linear", "softmax", "log_softmax",
})
GLOBAL_MODULES = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
GLOBAL_OPS = frozenset({"adaptive_avg_pool2d", "adaptive_max_pool2d", "mean", "sum", "amax", "max"})
SHAPE_OPS = frozenset({"size", "dim", "getattr", "numel"})
WINDOW_MODULES = (PadConv2d, PadMaxPool2d, PolicyPad2d, nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


class _Tracer(fx.Tracer):
    """torch.nn modules and the padding-policy layers are leaves; every node remembers the
    module it was traced in (``meta["scope"]``), so a tap can name a module such as ``layer1``."""

    def __init__(self) -> None:
        super().__init__()
        self.module_path = ""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, (PadConv2d, PadMaxPool2d)) or super().is_leaf_module(m, qualname)

    def call_module(self, m: nn.Module, forward: Callable, args: tuple, kwargs: dict) -> Any:
        saved, self.module_path = self.module_path, self.path_of_module(m)
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.module_path = saved

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        node = super().create_node(*args, **kwargs)
        node.meta["scope"] = self.module_path
        return node


def _op_name(node: fx.Node) -> str:
    return node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def crop(x: torch.Tensor, hdim: int, top: int, bottom: int, wdim: int, left: int, right: int) -> torch.Tensor:
    """``x`` less ``top``/``bottom`` entries along ``hdim`` and ``left``/``right`` along ``wdim``."""
    x = x.narrow(hdim, top, x.shape[hdim] - top - bottom) if top or bottom else x
    return x.narrow(wdim, left, x.shape[wdim] - left - right) if left or right else x


torch.fx.wrap("crop")


@dataclass
class Window:
    """A conv or pool along both axes: (kernel, stride, pad, dilation) per axis, ``ceil`` mode."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    ceil: bool = False
    policy: nn.Module | None = None  # the Pad2d of a converted conv (asked whether a map can take it)


def _window(module: nn.Module, name: str) -> Window:
    if isinstance(module, PadConv2d | PadMaxPool2d | PolicyPad2d):
        k, s, p, d = module.window()
        return Window((k, k), (s, s), (p, p), (d, d), policy=getattr(module, "pad", None))
    pad = module.padding
    if isinstance(pad, str):
        if pad != "valid":
            raise GeometryError(f"node {name}: padding {pad!r} was not converted; pass the model through pppcore.convert")
        pad = 0
    if any(_pair(pad)):
        raise GeometryError(f"node {name}: {type(module).__name__} pads {pad} itself; pass the model through pppcore.convert")
    dilation = _pair(module.dilation) if hasattr(module, "dilation") else (1, 1)
    stride = _pair(module.stride if module.stride is not None else module.kernel_size)
    return Window(_pair(module.kernel_size), stride, (0, 0), dilation, ceil=bool(getattr(module, "ceil_mode", False)))


@dataclass
class Plan:
    """What each node is (size-independent): its kind, spatial dims, window and spatial inputs."""

    kind: dict[str, str] = field(default_factory=dict)
    layout: dict[str, tuple[int, int]] = field(default_factory=dict)
    window: dict[str, Window] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)  # spatial inputs of each node
    deps: dict[str, list[str]] = field(default_factory=dict)  # all inputs (a pooled SE scale too)
    error: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # spatial nodes (input, window, point), graph order


def probe_shapes(gm: fx.GraphModule, size: tuple[int, int], channels: int) -> dict[str, Any]:
    """Each node's output shape (a tuple, a list of them for tuples of tensors, or None) at ``size``."""
    shapes: dict[str, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            try:
                out = super().run_node(n)
            except Exception as err:  # name the node: the user's model, not ours, failed
                raise GeometryError(f"node {n.name} ({n.op} {_op_name(n)}) fails on a {size[0]}x{size[1]} input: {err}") from err
            if isinstance(out, torch.Tensor):
                shapes[n.name] = tuple(out.shape)
            elif isinstance(out, list | tuple) and out and all(isinstance(o, torch.Tensor) for o in out):
                shapes[n.name] = [tuple(o.shape) for o in out]
            else:
                shapes[n.name] = None
            return out

    param = next(gm.parameters(), None)
    x = torch.rand(1, channels, *size, generator=torch.Generator().manual_seed(0))
    if param is not None:
        x = x.to(param.device, param.dtype)
    with torch.no_grad():
        Recorder(gm).run(x)
    return shapes


def _layout(base: Any, taller: Any, wider: Any) -> tuple[int, int] | str | None:
    """Which dims of a tensor follow the input's height and width: ``(hdim, wdim)``,
    ``"global"`` (none do), ``"mixed"`` (a dim follows both, e.g. tokens) or None (no tensor)."""
    if isinstance(base, list):
        found = {_layout(*shapes) for shapes in zip(base, taller, wider, strict=True)}
        return found.pop() if len(found) == 1 else "mixed"
    if base is None:
        return None
    if len(base) != len(taller) or len(base) != len(wider):
        return "mixed"
    hd = [i for i, (a, b) in enumerate(zip(base, taller, strict=True)) if a != b]
    wd = [i for i, (a, b) in enumerate(zip(base, wider, strict=True)) if a != b]
    if not hd and not wd:
        return "global"
    if len(hd) == 1 and len(wd) == 1 and hd != wd:
        return hd[0], wd[0]
    return "mixed"


def _spatial_size(shape: Any, layout: tuple[int, int]) -> tuple[int, int]:
    shape = shape[0] if isinstance(shape, list) else shape
    return shape[layout[0]], shape[layout[1]]


def _dims_check(node: fx.Node, module: nn.Module | None, layout: tuple[int, int], ndim: int) -> str | None:
    """Why an op that keeps the grid would still mix positions (a channel op on a spatial dim)."""
    name = _op_name(node)
    spatial = {d % ndim for d in layout}
    if isinstance(module, nn.Linear) or name == "linear":
        last = {ndim - 1}
    elif isinstance(module, nn.LayerNorm) or name == "layer_norm":
        shape = module.normalized_shape if module is not None else node.args[1]
        last = set(range(ndim - len(_pair(shape) if isinstance(shape, int) else shape), ndim))
    elif isinstance(module, nn.Softmax) or name in ("softmax", "log_softmax"):
        dim = module.dim if module is not None else node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        last = {dim % ndim} if dim is not None else spatial
    else:
        return None
    return f"{type(module).__name__ if module is not None else name} works along a spatial axis (linear mixing over space)" if last & spatial else None


def analyse(gm: fx.GraphModule, probe: int = 128, channels: int = 3) -> Plan:
    """The :class:`Plan` of ``gm`` from three probe runs (``probe`` px, taller, wider)."""
    base = probe_shapes(gm, (probe, probe), channels)
    taller = probe_shapes(gm, (probe + PROBE_GROWTH, probe), channels)
    wider = probe_shapes(gm, (probe, probe + PROBE_GROWTH), channels)
    modules = dict(gm.named_modules())
    plan = Plan()
    for node in gm.graph.nodes:
        n = node.name
        if node.op == "output":
            continue
        layout = _layout(base[n], taller[n], wider[n]) if n in base else None
        ins = [i.name for i in node.all_input_nodes if i.name in plan.layout]
        bad = [plan.error[i.name] for i in node.all_input_nodes if i.name in plan.error]
        if isinstance(layout, tuple):
            plan.layout[n] = layout
        plan.inputs[n] = ins
        plan.deps[n] = [i.name for i in node.all_input_nodes]
        if node.op == "placeholder":
            if not isinstance(layout, tuple):
                raise GeometryError(f"input {n} is not an N x C x H x W image tensor")
            plan.kind[n] = "input"
        elif bad:
            plan.kind[n], plan.error[n] = "error", bad[0]  # the first cause, named once
        elif not ins:
            plan.kind[n] = "const" if layout != "mixed" else "error"
            if layout == "mixed":
                plan.error[n] = f"node {n} ({_op_name(node)}) has an output that follows the input size in a way PPP cannot place"
        else:
            module = modules.get(node.target) if node.op == "call_module" else None
            plan.kind[n] = _classify(node, module, layout, ins, plan, base, plan.error)
        if plan.kind[n] in ("input", "window", "point"):
            plan.order.append(n)
    return plan


def _classify(node: fx.Node, module: nn.Module | None, layout: Any, ins: list[str], plan: Plan, base: dict, errors: dict) -> str:
    n, op = node.name, _op_name(node)
    what = type(module).__name__ if module is not None else f"{node.op} {op}"

    def refuse(why: str) -> str:
        errors[n] = f"node {n} ({what}): {why}"
        return "error"

    if op == "pad" and node.op == "call_function":
        return refuse(f"an explicit F.pad {node.args[1:]} {dict(node.kwargs)} that is not a symmetric zero pad of constant size "
                      "(e.g. timm's run-time 'same' padding) cannot be put under the padding policy")
    if layout == "mixed":
        return refuse("turns the spatial grid into a sequence or mixes the two axes (as a ViT or MLP-mixer does); "
                      "positions cannot be aligned after it")
    if layout is None and op in SHAPE_OPS:
        return "const"  # x.size(): the twin reads its own (larger) sizes, as it should
    if layout == "global" or layout is None:
        if isinstance(module, GLOBAL_MODULES) or (module is None and op in GLOBAL_OPS):
            return "global"
        return refuse("reduces the spatial map in a way that is not a global pool") if layout == "global" else refuse("no geometry rule")
    if module is not None and isinstance(module, WINDOW_MODULES):
        if len(ins) != 1:
            return refuse("a window layer with several spatial inputs")
        try:
            plan.window[n] = _window(module, n)
        except GeometryError as err:
            return refuse(str(err))
        return "window"
    if module is not None and not isinstance(module, POINT_MODULES):
        return refuse(f"no geometry rule for {type(module).__name__} (not a conv, pool or pointwise layer)")
    if module is None and (node.op not in ("call_function", "call_method") or op not in POINT_OPS):
        return refuse("no geometry rule (only convs, pools, pointwise ops, merges and global pools are understood)")
    ndim = len(base[n][0] if isinstance(base[n], list) else base[n])
    why = _dims_check(node, module, layout, ndim)
    if why:
        return refuse(why)
    size = _spatial_size(base[n], layout)
    for i in ins:
        if _spatial_size(base[i], plan.layout[i]) != size:
            return refuse(f"changes the spatial size from {_spatial_size(base[i], plan.layout[i])} to {size} "
                          "(a spatial slice, resize or concatenation along a spatial axis)")
    return "point"


# ----------------------------------------------------------------------------- geometry per axis


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


def regular_trace(plan: Plan, size: int, axis: int, upto: Iterable[str] | None = None) -> dict[str, Axis]:
    """Each spatial node's :class:`Axis` along ``axis`` (0: height, 1: width) at ``size`` px."""
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
            if w.policy is not None and hasattr(w.policy, "fits") and not w.policy.fits(a.size):
                raise GeometryError(f"node {n}: {w.policy.scheme} padding of {pad} {w.policy.needs()}, gets {a.size} px; use a larger input size")
            geo[n] = _through(a, w, axis, pad, w.ceil, n)
        else:
            ins = [geo[i] for i in plan.inputs[n]]
            first = ins[0]
            for other in ins[1:]:
                if (other.size, other.offset, other.stride) != (first.size, first.offset, first.stride):
                    raise GeometryError(f"node {n}: its inputs sit on different grids ({first} vs {other}); they cannot be merged")
            geo[n] = Axis(first.size, first.offset, first.stride, max(a.radius for a in ins))
    return geo


def twin_trace(plan: Plan, big: int, sigma: int, regular: dict[str, Axis], axis: int, needed: set[str]) -> tuple[dict[str, Axis], dict]:
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
            lead = next((c for c in range(s) if (t.offset + t.stride * (c + d * (k - 1) / 2) - target) % step == 0), None)
            if lead is None:
                raise GeometryError(f"node {n}: the twin's grid is off the regular grid by a fraction of a stride")
            if lead:
                crops[(n, src)] = (lead, 0)
            geo[n] = _through(Axis(t.size - lead, t.offset + t.stride * lead, t.stride, t.radius), w, axis, 0, False, n)
        else:
            ins = plan.inputs[n]
            axes = [geo[i] for i in ins]
            step = axes[0].stride
            start = max(a.offset for a in axes)
            end = min(a.offset + step * (a.size - 1) for a in axes)
            if end < start:
                raise GeometryError(f"node {n}: the twin's inputs do not overlap; use a larger input size")
            for i, a in zip(ins, axes, strict=True):
                if a.stride != step or (a.offset - start) % step:
                    raise GeometryError(f"node {n}: the twin's inputs {ins} sit on different grids")
                lead, trail = int((start - a.offset) // step), int((a.offset + step * (a.size - 1) - end) // step)
                if lead or trail:
                    crops[(n, i)] = (lead, trail)
            geo[n] = Axis(int((end - start) // step) + 1, start, step, max(a.radius for a in axes))
    return geo, crops


def _margins(r: Axis, t: Axis, sigma: int) -> tuple[int, int] | None:
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


def solve_axis(plan: Plan, size: int, axis: int, taps: Iterable[str], name: str = "model") -> tuple[dict[str, Axis], Solution]:
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
            top, bottom = _margins(regular[n], twin[n], best)
            for consumer in (c for c, kind in plan.kind.items() if kind == "global" and n in plan.inputs[c]):
                crops[(consumer, n)] = (top, bottom)
        return Solution(big, best, twin, crops)

    lo, hi = size, size
    while (found := attempt(hi)) is None:
        lo, hi = hi + 1, hi * 2
        if hi > 64 * size + 4096:
            raise GeometryError(f"{name} at {size} px: no big crop lets the padding-free twin cover the taps {taps}")
    while lo < hi:
        mid = (lo + hi) // 2
        if (s := attempt(mid)) is None:
            lo = mid + 1
        else:
            hi, found = mid, s
    return regular, found


def ancestors(plan: Plan, nodes: Iterable[str]) -> set[str]:
    """``nodes`` and every node they depend on."""
    seen: set[str] = set()
    stack = list(nodes)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(plan.deps.get(n, ()))
    return seen


# ------------------------------------------------------------------------------------- the model


def _features_module(root: nn.Module, graph: fx.Graph, taps: Mapping[str, str], crops: Mapping | None = None,
                     layout: Mapping[str, tuple[int, int]] | None = None) -> fx.GraphModule:
    """A GraphModule returning ``{tap: node}`` (nothing after the last tap), with ``crops``
    ({(node, input): (top, bottom, left, right)}) inserted before the nodes that need them."""
    new = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    output = new.graph_copy(graph, env)
    del output
    for node in list(new.nodes):
        if node.op == "output":
            new.erase_node(node)
    by_name = {n.name: n for n in new.nodes}
    for (name, src), (top, bottom, left, right) in (crops or {}).items():
        node, inp = by_name[name], by_name[src]
        hdim, wdim = layout[src]
        with new.inserting_before(node):
            cut = new.call_function(crop, (inp, hdim, top, bottom, wdim, left, right))
        node.replace_input_with(inp, cut)
    new.output({tap: by_name[n] for tap, n in taps.items()})
    module = fx.GraphModule(root, new)
    module.graph.eliminate_dead_code()
    module.recompile()
    return module


class GraphModel(nn.Module):
    """A converted CNN: the model's own modules (same ``state_dict`` keys), its fx graph and
    the taps (name -> node) at which PPP is measured. ``align``, ``make_twin``,
    ``measure_ppp`` and the CLI take it like a built-in model."""

    def __init__(self, model: nn.Module, graph: fx.Graph, plan: Plan, taps: dict[str, str], config: dict[str, Any]) -> None:
        super().__init__()
        for key in ("_modules", "_parameters", "_buffers"):
            getattr(self, key).update(getattr(model, key))
        self.graph = graph
        self.plan = plan
        self.loi = dict(taps)
        self.config = dict(config)
        self.crops: dict | None = None  # set on a twin: {(node, input): (top, bottom, left, right)}
        self._cache: dict = {}

    @property
    def arch(self) -> str:
        return self.config["arch"]

    @property
    def padding(self) -> str:
        return self.config["padding"]

    @property
    def square(self) -> bool:
        """Every window is square: both axes share one geometry at equal sizes."""
        return all(w.kernel[0] == w.kernel[1] and w.stride[0] == w.stride[1] and w.dilation[0] == w.dilation[1] for w in self.plan.window.values())

    def __deepcopy__(self, memo: dict) -> GraphModel:
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = {} if key == "_cache" else copy.deepcopy(value, memo)
        return new

    def _module(self, taps: Mapping[str, str] | None) -> fx.GraphModule:
        key = tuple((taps or {"out": None}).items())
        if key not in self._cache:
            # A plain holder of the same modules: a child may share a name with a method
            # (torchvision's ``features`` vs :meth:`features`).
            root = nn.Module()
            for attr in ("_modules", "_parameters", "_buffers"):
                getattr(root, attr).update(getattr(self, attr))
            if taps is None:
                self._cache[key] = fx.GraphModule(root, self.graph)
            else:
                self._cache[key] = _features_module(root, self.graph, taps, self.crops, self.plan.layout)
        return self._cache[key]

    def forward(self, x: torch.Tensor) -> Any:
        return self._module(None)(x)

    def features(self, x: torch.Tensor, taps: Mapping[str, str] | None = None) -> dict[str, torch.Tensor]:
        """The tap outputs for input ``x``, in depth order; nothing after the last tap runs."""
        return self._module(dict(self.loi if taps is None else taps))(x)

    def trace(self, size: int, padless: bool = False) -> dict[str, Axis]:
        """The regular geometry of every node up to the last tap along one axis (as ``PPPModel.trace``)."""
        if padless:
            raise GeometryError("a converted model's twin geometry depends on the input margin; use pppcore.align")
        return {"": Axis(size), **regular_trace(self.plan, size, 0, ancestors(self.plan, self.loi.values()))}

    def align_axis(self, size: int, axis: int = 0) -> AxisAlignment:
        """:class:`AxisAlignment` of one axis, with the twin's crops for :meth:`twin` (cached:
        ``measure_ppp`` aligns on every call)."""
        key = ("align", size, axis, tuple(self.loi.values()))
        if key not in self._cache:
            self._cache[key] = self._align_axis(size, axis)
        return self._cache[key]

    def _align_axis(self, size: int, axis: int) -> AxisAlignment:
        regular, sol = solve_axis(self.plan, size, axis, self.loi.values(), self.arch)
        inputs = [n for n in self.plan.order if self.plan.kind[n] == "input"]
        margins = {n: m for n, r in regular.items() if n in sol.twin and (m := _margins(r, sol.twin[n], sol.sigma)) is not None}
        alias = {"": inputs[0]}  # the input node is also "" (the Alignment table's input row)
        return AxisAlignment(
            size, sol.big, (sol.sigma, sol.big - size - sol.sigma),
            {**margins, **{k: margins[v] for k, v in alias.items()}},
            {**regular, "": regular[inputs[0]]}, {**sol.twin, "": sol.twin[inputs[0]]}, sol.crops,
        )

    def twin(self, alignment: Alignment) -> GraphModel:
        """The padding-free twin (parameters shared) with the crops of ``alignment``."""
        crops_h, crops_w = (a.crops for a in alignment.axes)
        shared = {id(t): t for t in (*self.parameters(), *self.buffers())}
        twin = copy.deepcopy(self, shared)
        for m in twin.modules():
            if isinstance(m, PadConv2d | PolicyPad2d):
                m.pad = NoPad2d()
            elif isinstance(m, PadMaxPool2d):
                m.padding, m.circular = 0, False
            elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
                m.ceil_mode = False
        keys = set(crops_h) | set(crops_w)
        twin.crops = {k: (*crops_h.get(k, (0, 0)), *crops_w.get(k, (0, 0))) for k in keys}
        twin.config = {**self.config, "padding": "none", "twin_of": self.padding}
        return twin


def build_graph(model: nn.Module, padding: str = "zeros") -> fx.Graph:
    """``model`` traced, every explicit symmetric zero ``F.pad`` replaced by a :class:`PolicyPad2d`
    (registered on ``model`` as ``ppp_pad<i>``: no parameters, the state dict is unchanged)."""
    graph = _Tracer().trace(model)
    for i, node in enumerate(n for n in list(graph.nodes) if n.op == "call_function" and n.target is F.pad):
        amounts = node.args[1] if len(node.args) > 1 else node.kwargs.get("pad")
        mode = node.args[2] if len(node.args) > 2 else node.kwargs.get("mode", "constant")
        value = node.args[3] if len(node.args) > 3 else node.kwargs.get("value", None)
        if not (isinstance(amounts, list | tuple) and len(amounts) == 4 and len(set(amounts)) == 1 and isinstance(amounts[0], int)
                and mode == "constant" and not value):
            continue  # left for the analysis to refuse, naming the node
        name = f"ppp_pad{i}"
        model.add_module(name, PolicyPad2d(amounts[0], padding))
        with graph.inserting_before(node):
            new = graph.call_module(name, (node.args[0],))
        new.meta["scope"] = node.meta.get("scope", "")
        node.replace_all_uses_with(new)
        graph.erase_node(node)
    return graph


def resolve_taps(graph: fx.Graph, plan: Plan, taps: Mapping[str, str] | None, regular: dict[str, Axis] | None) -> dict[str, str]:
    """Tap name -> node name. A tap may name a node or a module path (its last node)."""
    nodes = list(graph.nodes)
    if taps is None:
        found = {}
        cuts = trunk_nodes(graph)
        for n in plan.order:
            stride = int(regular[n].stride)
            if stride in STRIDES and n in cuts:
                found[f"stride{stride}"] = n
        if not found:  # a net that never strides to 4 (a toy, a dense head): its last trunk map
            last = [n for n in plan.order if n in cuts and plan.kind[n] != "input"]
            if not last:
                raise GeometryError("no feature map to tap (no conv or pool on the input); pass taps={'name': 'module.path'}")
            found["out"] = last[-1]
        return dict(sorted(found.items(), key=lambda kv: plan.order.index(kv[1])))
    out = {}
    for name, path in taps.items():
        hits = [n.name for n in nodes if n.name == path or (n.op == "call_module" and n.target == path)]
        if not hits:
            hits = [n.name for n in nodes if n.op != "output" and (n.meta.get("scope", "") == path or n.meta.get("scope", "").startswith(path + "."))]
        if not hits:
            raise GeometryError(f"tap {name!r}: no node or module {path!r} in the traced graph")
        out[name] = hits[-1]
    return out


def trunk_nodes(graph: fx.Graph) -> set[str]:
    """Nodes every path from the input passes through: no edge jumps over them (block outputs,
    not a branch's inner layers such as a downsampling block's first 1x1 conv)."""
    nodes = [n for n in graph.nodes if n.op != "output"]
    pos = {n: i for i, n in enumerate(nodes)}
    reach = [0] * (len(nodes) + 1)  # reach[i]: the furthest edge end starting at or before i
    for n in nodes:
        for i in n.all_input_nodes:
            reach[pos[i]] = max(reach[pos[i]], pos[n])
    cuts, furthest = set(), 0
    for i, n in enumerate(nodes):
        if furthest <= i:
            cuts.add(n.name)
        furthest = max(furthest, reach[i])
    return cuts


def check_taps(plan: Plan, taps: Mapping[str, str], graph: fx.Graph) -> None:
    """Refuse taps that depend on an op PPP cannot follow (naming that node), or that are not maps."""
    for name, n in taps.items():
        if plan.kind.get(n) == "error":
            raise GeometryError(f"tap {name!r} ({n}) cannot be measured exactly: {plan.error[n]}")
        if n not in plan.layout:
            raise GeometryError(f"tap {name!r} ({n}) is not a spatial feature map (kind {plan.kind.get(n)})")


def check_trunk(plan: Plan, graph: fx.Graph) -> None:
    """With default taps the whole model is the trunk: refuse any node that mixes positions."""
    for node in graph.nodes:
        if plan.kind.get(node.name) == "error":
            raise GeometryError(f"{plan.error[node.name]}; pass taps= that end before it")
