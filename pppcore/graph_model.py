"""A converted CNN as a module: its own layers and keys, its fx graph, taps, and the twin's crops."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import fx, nn

from .alignment import Alignment, AxisAlignment
from .geometry import Axis, GeometryError
from .graph import Plan, ancestors
from .graph_geometry import margins, own_grid_crops, regular_trace, solve_axis
from .models.base import ConfiguredModel
from .models.layers import padless_copy


def crop(x: torch.Tensor, hdim: int, top: int, bottom: int, wdim: int, left: int, right: int) -> torch.Tensor:
    """``x`` less ``top``/``bottom`` entries along ``hdim`` and ``left``/``right`` along ``wdim``."""
    x = x.narrow(hdim, top, x.shape[hdim] - top - bottom) if top or bottom else x
    return x.narrow(wdim, left, x.shape[wdim] - left - right) if left or right else x


torch.fx.wrap("crop")


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


class GraphModel(ConfiguredModel):
    """A converted CNN: the model's own modules (same ``state_dict`` keys), its fx graph and
    the taps (name -> node) at which PPP is measured. It is a :class:`pppcore.alignment.Twinnable`
    (:meth:`align_axis`, :meth:`twin`): ``align``, ``make_twin``, ``measure_ppp`` and the CLI
    take it like a built-in model."""

    def __init__(
        self, model: nn.Module, graph: fx.Graph, plan: Plan, taps: dict[str, str], config: dict[str, Any]
    ) -> None:
        super().__init__()
        for key in ("_modules", "_parameters", "_buffers"):
            getattr(self, key).update(getattr(model, key))
        self.graph = graph
        self.plan = plan
        self.loi = dict(taps)
        self.config = dict(config)
        self.crops: dict | None = None  # set on an aligned twin: {(node, input): (top, bottom, left, right)}
        self.own_grid = False  # set on a twin made without an alignment: crops follow each input's size
        self._cache: dict = {}

    @property
    def square(self) -> bool:
        """Every window is square: both axes share one geometry at equal sizes."""
        return all(w.kernel[0] == w.kernel[1] and w.stride[0] == w.stride[1] and w.dilation[0] == w.dilation[1]
                   for w in self.plan.window.values())

    def __deepcopy__(self, memo: dict) -> GraphModel:
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = {} if key == "_cache" else copy.deepcopy(value, memo)
        return new

    def _module(self, taps: Mapping[str, str] | None, shape: tuple[int, ...] | None = None) -> fx.GraphModule:
        key = tuple((taps or {"out": None}).items())
        crops = self.crops
        if self.own_grid and taps is not None:  # crops for this input's size
            hdim, wdim = self.plan.layout[next(n for n in self.plan.order if self.plan.kind[n] == "input")]
            size = (shape[hdim], shape[wdim])
            key, crops = (*key, size), self._own_grid_crops(list(taps.values()), *size)
        if key not in self._cache:
            # A plain holder of the same modules: a child may share a name with a method
            # (torchvision's ``features`` vs :meth:`features`).
            root = nn.Module()
            for attr in ("_modules", "_parameters", "_buffers"):
                getattr(root, attr).update(getattr(self, attr))
            if taps is None:
                self._cache[key] = fx.GraphModule(root, self.graph)
            else:
                self._cache[key] = _features_module(root, self.graph, taps, crops, self.plan.layout)
        return self._cache[key]

    def _own_grid_crops(self, taps: list[str], h: int, w: int) -> dict:
        """{(node, input): (top, bottom, left, right)} up to ``taps`` of an own-grid twin on an ``h`` x ``w`` input."""
        crops_h = own_grid_crops(self.plan, h, 0, taps)
        crops_w = crops_h if h == w and self.square else own_grid_crops(self.plan, w, 1, taps)
        return {k: (*crops_h.get(k, (0, 0)), *crops_w.get(k, (0, 0))) for k in set(crops_h) | set(crops_w)}

    def forward(self, x: torch.Tensor) -> Any:
        """The converted model's output (a twin's: its graph without the crops; PPP reads :meth:`features`)."""
        return self._module(None)(x)

    def features(self, x: torch.Tensor, taps: Mapping[str, str] | None = None) -> dict[str, torch.Tensor]:
        """The tap outputs for input ``x``, in depth order; nothing after the last tap runs."""
        return self._module(dict(self.loi if taps is None else taps), x.shape)(x)

    def trace(self, size: int, padless: bool = False) -> dict[str, Axis]:
        """The regular geometry of every node up to the last tap along one axis (as ``PPPModel.trace``)."""
        if padless:
            raise GeometryError("a converted model's twin geometry depends on the input margin; "
                                "use pppcore.align")
        return {"": Axis(size), **regular_trace(self.plan, size, 0, ancestors(self.plan, self.loi.values()))}

    def align_axis(self, size: int, axis: int = 0) -> AxisAlignment:
        """:class:`AxisAlignment` of one axis, with the twin's crops for :meth:`twin` (cached:
        ``measure_ppp`` aligns on every call; a model whose windows are all square shares one
        result between the axes)."""
        key = ("align", size, 0 if self.square else axis, tuple(self.loi.values()))
        if key not in self._cache:
            self._cache[key] = self._align_axis(size, axis)
        return self._cache[key]

    def _align_axis(self, size: int, axis: int) -> AxisAlignment:
        regular, sol = solve_axis(self.plan, size, axis, self.loi.values(), self.arch)
        inputs = [n for n in self.plan.order if self.plan.kind[n] == "input"]
        covered = {n: m for n, r in regular.items()
                   if n in sol.twin and (m := margins(r, sol.twin[n], sol.sigma)) is not None}
        return AxisAlignment(  # the input node is also "" (the Alignment table's input row)
            size, sol.big, (sol.sigma, sol.big - size - sol.sigma),
            {**covered, "": covered[inputs[0]]},
            {**regular, "": regular[inputs[0]]}, {**sol.twin, "": sol.twin[inputs[0]]}, sol.crops,
        )

    def twin(self, alignment: Alignment | None = None) -> GraphModel:
        """The padding-free twin (parameters and buffers shared), see :func:`pppcore.make_twin`.

        With ``alignment`` it carries that alignment's crops (strided windows, merges, global
        pools). Without it, it is an own-grid twin: its crops follow each input's size, merges
        join what the regular model joins and global pools see the whole map.

        Cached per crops while the model holds the same tensors (``measure_ppp`` asks on every
        call; a copy and a recompile cost a small model ~20% of a measurement). Moving the
        model to another device replaces its buffers, so the next call builds a new twin."""
        crops = None if alignment is None else tuple(a.crops for a in alignment.axes)
        sorted_crops = None if crops is None else tuple(tuple(sorted(c.items())) for c in crops)
        key = ("twin", tuple(self.loi.items()), sorted_crops)
        tensors = tuple(map(id, (*self.parameters(), *self.buffers())))
        cached = self._cache.get(key)
        if cached is not None and cached[0] == tensors:
            return cached[1]
        twin = self._make_twin(crops)
        self._cache[key] = (tensors, twin)
        return twin

    def _make_twin(self, crops: tuple[Mapping, Mapping] | None) -> GraphModel:
        twin = padless_copy(self)
        if crops is None:
            twin.own_grid = True
        else:
            crops_h, crops_w = crops
            keys = set(crops_h) | set(crops_w)
            twin.crops = {k: (*crops_h.get(k, (0, 0)), *crops_w.get(k, (0, 0))) for k in keys}
        twin.config = {**self.config, "padding": "none", "twin_of": self.padding}
        return twin
