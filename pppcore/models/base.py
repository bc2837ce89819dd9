"""What every model of :mod:`pppcore.models` shares: named layers of interest, ``features``,
its geometry (``trace``, ``align_axis``) and its padding-free ``twin``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from ..alignment import Alignment, AxisAlignment, align_trunk_axis
from ..geometry import Axis, trace_chain
from .layers import has_padding, padless_copy, set_se_regions


class _Stop(Exception):
    """Raised by the last layer-of-interest hook: nothing after it needs computing."""


class ConfiguredModel(nn.Module):
    """A model that knows how it was built (``config``): its ``arch`` and ``padding`` come from
    there, for built-in and converted models alike."""

    config: dict[str, Any]

    @property
    def arch(self) -> str:
        return self.config["arch"]

    @property
    def padding(self) -> str:
        return self.config["padding"]


class PPPModel(ConfiguredModel):
    """A classifier whose four layers of interest (LoIs) are reachable by name.

    Subclasses set ``loi`` (LoI name -> qualified module name, in depth order),
    ``trunk`` (the top-level children, in order, from the input to the last LoI) and
    ``config`` (the ``build_model`` arguments, saved in checkpoints).

    ``model.features(x)`` is the LoI method, not a module. VGG and EfficientNet also have
    torchvision's ``features`` Sequential, registered with :meth:`set_child` so that their
    ``state_dict`` keys (``features.0.weight``, ...) stay torchvision's: read it with
    :meth:`child` (``model.child("features")[0]``); ``model.features[0]`` fails.
    It is a :class:`pppcore.alignment.Twinnable`: :meth:`align_axis` and :meth:`twin` are
    what :func:`pppcore.align` and :func:`pppcore.make_twin` call.
    """

    loi: dict[str, str]
    trunk: tuple[str, ...]
    config: dict[str, Any]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``features`` -> ``avgpool`` -> ``classifier``, torchvision's VGG/EfficientNet head."""
        x = self.avgpool(self.child("features")(x))
        return self.classifier(torch.flatten(x, 1))

    def child(self, name: str) -> nn.Module:
        """Top-level submodule ``name``, also where a method has the same name (``features``)."""
        return self._modules[name]

    def set_child(self, name: str, module: nn.Module) -> None:
        """Register ``module`` as top-level submodule ``name``, also where a method has that name:
        ``self.features = ...`` would register it too, yet read back as the method."""
        self._modules[name] = module

    def features(self, x: torch.Tensor, taps: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
        """The LoI outputs for input ``x``, in depth order; stops after the last one.

        ``taps`` (name -> module path, in depth order) reads other layers the same way.
        """
        taps = self.loi if taps is None else taps
        modules = dict(self.named_modules())
        out: dict[str, torch.Tensor] = {}
        last = list(taps)[-1]

        def hook(name: str):
            def fn(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
                out[name] = output
                if name == last:
                    raise _Stop

            return fn

        handles = [modules[path].register_forward_hook(hook(name)) for name, path in taps.items()]
        try:
            self.forward(x)
        except _Stop:
            pass
        finally:
            for handle in handles:
                handle.remove()
        return {name: out[name] for name in taps}

    def trace(self, size: int, padless: bool = False) -> dict[str, Axis]:
        """Geometry of every module up to the last LoI along one axis of a ``size``-px input."""
        record: dict[str, Axis] = {"": Axis(size)}
        trace_chain(((name, self.child(name)) for name in self.trunk), Axis(size), "", record, padless)
        return record

    def align_axis(self, size: int, axis: int = 0) -> AxisAlignment:
        """:class:`~pppcore.alignment.AxisAlignment` of a ``size``-px input along either axis
        (every kernel is square: ``axis`` does not matter), by :func:`~pppcore.alignment.align_trunk_axis`."""
        return align_trunk_axis(self, size)

    def twin(self, alignment: Alignment | None = None) -> PPPModel:
        """The padding-free twin: this module tree with every pad removed, sharing its parameters
        and buffers (see :func:`pppcore.make_twin`). A model without padding is its own twin.

        With ``alignment``, each squeeze-excitation block pools over the region aligned with
        the regular map only; without it, over the twin's whole (larger) map.
        """
        if not has_padding(self):
            return self
        twin = padless_copy(self)
        twin.config = {**self.config, "padding": "none", "twin_of": self.padding}
        if alignment is not None:
            set_se_regions(twin, alignment)
        return twin


def calibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """Set every BatchNorm's running statistics to the average over ``batches``; eval mode.

    A random-init network in eval mode normalises with mean 0 / var 1, so deep features
    of e.g. EfficientNet shrink to ~1e-10 and PPP becomes a ratio of rounding errors.
    Statistics from real inputs (what any trained model has) keep them O(1). Only the
    BatchNorms run in train mode: dropout and stochastic depth stay off, so the statistics
    are those of the network that is measured, and repeat exactly.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
        m.train()
    with torch.no_grad():
        for batch in batches:
            model(batch)
    for m, momentum in zip(bns, saved, strict=True):
        m.momentum = momentum
    return model.eval()


# The initial state is a protocol, not a detail: it decides what "init" rows measure.
# torchvision: the family's torchvision re-initialisation (Kaiming-normal fan-out convs, zero
# biases). pytorch_default: PyTorch's own layer defaults, no re-init (kaiming_uniform a=sqrt(5)
# + uniform bias; what pytorch-cifar's VGG keeps). Under it a deep plain VGG's random features
# collapse to per-channel constants, which is how the paper's VGG init rows read 0.0000.
INITS = ("torchvision", "pytorch_default")


def check_init(init: str) -> str:
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; allowed: {', '.join(INITS)}")
    return init


def init_weights(
    model: nn.Module, linear: Callable[[nn.Linear], None] | None = None, init: str = "torchvision"
) -> None:
    """torchvision's initialisation: Kaiming-normal (fan-out, ReLU gain) convs with zero
    bias, BatchNorm at identity, and the family's own rule for linear layers.
    ``init="pytorch_default"`` keeps the layers' own PyTorch initialisation instead."""
    if check_init(init) == "pytorch_default":
        return
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear is not None:
            linear(m)
