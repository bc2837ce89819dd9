"""Any CNN as a traced ``torch.fx`` graph: what each node does to positions, and the taps.

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

Geometry and the twin's crops are :mod:`pppcore.graph_geometry`; the module that runs it
all is :class:`pppcore.graph_model.GraphModel`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from .geometry import Axis, GeometryError
from .models.layers import PadConv2d, PadMaxPool2d, PolicyPad2d

STRIDES = (4, 8, 16, 32)
PROBE_GROWTH = 64

# Modules and ops that keep every position where it is (checked against the probe shapes).
POINT_MODULES = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm, nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish,
    nn.Hardsigmoid, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.Mish, nn.PReLU, nn.Softplus, nn.Dropout,
    nn.Dropout2d, nn.AlphaDropout, nn.Identity, nn.Flatten, nn.LayerNorm, nn.Linear, nn.Softmax,
)
POINT_OPS = frozenset({
    "add", "iadd", "sub", "mul", "imul", "truediv", "div", "neg", "relu", "relu_", "relu6", "silu", "gelu", "sigmoid",
    "sigmoid_", "tanh", "hardswish", "hardsigmoid", "hardtanh", "leaky_relu", "elu", "mish", "softplus", "clamp",
    "clamp_min", "clamp_max", "add_", "mul_", "dropout", "dropout2d", "contiguous", "to", "float", "double", "half",
    "type_as", "stochastic_depth", "abs", "exp", "sqrt", "rsqrt", "pow", "batch_norm", "permute", "transpose", "view",
    "reshape", "flatten", "cat", "concat", "chunk", "split", "getitem", "unsqueeze", "squeeze", "expand_as",
    "layer_norm", "linear", "softmax", "log_softmax",
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
        self.failed_in: str | None = None  # the innermost module whose forward could not be traced

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, (PadConv2d, PadMaxPool2d)) or super().is_leaf_module(m, qualname)

    def call_module(self, m: nn.Module, forward: Callable, args: tuple, kwargs: dict) -> Any:
        saved, self.module_path = self.module_path, self.path_of_module(m)
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:
                self.failed_in = f"{self.module_path} ({type(m).__name__})"
            raise
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
            raise GeometryError(f"node {name}: padding {pad!r} was not converted; "
                                "pass the model through pppcore.convert")
        pad = 0
    if any(_pair(pad)):
        raise GeometryError(f"node {name}: {type(module).__name__} pads {pad} itself; "
                            "pass the model through pppcore.convert")
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
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                raise GeometryError(f"node {n.name} ({n.op} {_op_name(n)}) fails on a {size[0]}x{size[1]} probe "
                                    f"input: {first} (PPP needs a model that takes inputs of any size; "
                                    "probe_size sets the first probe)") from err
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
        recorder = Recorder(gm)
        recorder.extra_traceback = False  # our message names the node already
        recorder.run(x)
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
    if not last & spatial:
        return None
    what = type(module).__name__ if module is not None else name
    return f"{what} works along a spatial axis (linear mixing over space)"


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
                plan.error[n] = (f"node {n} ({_op_name(node)}) has an output that follows the input size "
                                 "in a way PPP cannot place")
        else:
            module = modules.get(node.target) if node.op == "call_module" else None
            plan.kind[n] = _classify(node, module, layout, ins, plan, base, plan.error)
        if plan.kind[n] in ("input", "window", "point"):
            plan.order.append(n)
    return plan


def _classify(
    node: fx.Node, module: nn.Module | None, layout: Any, ins: list[str], plan: Plan, base: dict, errors: dict
) -> str:
    n, op = node.name, _op_name(node)
    what = type(module).__name__ if module is not None else f"{node.op} {op}"

    def refuse(why: str) -> str:
        errors[n] = f"node {n} ({what}): {why}"
        return "error"

    if op == "pad" and node.op == "call_function":
        return refuse(f"an explicit F.pad {node.args[1:]} {dict(node.kwargs)} that is not a symmetric zero pad "
                      "of constant size (e.g. timm's run-time 'same' padding) cannot be put under the padding policy")
    if layout == "mixed":
        return refuse("turns the spatial grid into a sequence or mixes the two axes (as a ViT or MLP-mixer does); "
                      "positions cannot be aligned after it")
    if layout is None and op in SHAPE_OPS:
        return "const"  # x.size(): the twin reads its own (larger) sizes, as it should
    if layout == "global" or layout is None:
        if isinstance(module, GLOBAL_MODULES) or (module is None and op in GLOBAL_OPS):
            return "global"
        if layout == "global":
            return refuse("reduces the spatial map in a way that is not a global pool")
        return refuse("no geometry rule")
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


def build_graph(model: nn.Module, padding: str = "zeros") -> fx.Graph:
    """``model`` traced, every explicit symmetric zero ``F.pad`` replaced by a :class:`PolicyPad2d`
    (registered on ``model`` as ``ppp_pad<i>``: no parameters, the state dict is unchanged)."""
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as err:  # fx.proxy.TraceError, or the model's own code failing on a Proxy
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise GeometryError(
            f"{tracer.failed_in or type(model).__name__}: torch.fx cannot trace it ({first}). PPP follows fixed "
            "geometry only: a padding computed from the input size at run time (timm's Conv2dSame / "
            "MaxPool2dSame 'same' padding) or control flow on a tensor's shape cannot be converted"
        ) from err
    for i, node in enumerate(n for n in list(graph.nodes) if n.op == "call_function" and n.target is F.pad):
        amounts = node.args[1] if len(node.args) > 1 else node.kwargs.get("pad")
        mode = node.args[2] if len(node.args) > 2 else node.kwargs.get("mode", "constant")
        value = node.args[3] if len(node.args) > 3 else node.kwargs.get("value", None)
        symmetric = (isinstance(amounts, list | tuple) and len(amounts) == 4 and len(set(amounts)) == 1
                     and isinstance(amounts[0], int))
        if not (symmetric and mode == "constant" and not value):
            continue  # left for the analysis to refuse, naming the node
        name = f"ppp_pad{i}"
        model.add_module(name, PolicyPad2d(amounts[0], padding))
        with graph.inserting_before(node):
            new = graph.call_module(name, (node.args[0],))
        new.meta["scope"] = node.meta.get("scope", "")
        node.replace_all_uses_with(new)
        graph.erase_node(node)
    return graph


def resolve_taps(
    graph: fx.Graph, plan: Plan, taps: Mapping[str, str] | None, regular: dict[str, Axis] | None
) -> dict[str, str]:
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
                raise GeometryError("no feature map to tap (no conv or pool on the input); "
                                    "pass taps={'name': 'module.path'}")
            found["out"] = last[-1]
        return dict(sorted(found.items(), key=lambda kv: plan.order.index(kv[1])))
    out = {}
    for name, path in taps.items():
        hits = [n.name for n in nodes if n.name == path or (n.op == "call_module" and n.target == path)]
        if not hits:
            hits = [n.name for n in nodes if n.op != "output"
                    and (n.meta.get("scope", "") == path or n.meta.get("scope", "").startswith(path + "."))]
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

