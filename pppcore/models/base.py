"""What every model of :mod:`pppcore.models` shares: named layers of interest and ``features``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..geometry import Axis, trace_chain


class _Stop(Exception):
    """Raised by the last layer-of-interest hook: nothing after it needs computing."""


class PPPModel(nn.Module):
    """A classifier whose four layers of interest (LoIs) are reachable by name.

    Subclasses set ``loi`` (LoI name -> qualified module name, in depth order),
    ``trunk`` (the top-level children, in order, from the input to the last LoI) and
    ``config`` (the ``build_model`` arguments, saved in checkpoints).
    """

    loi: dict[str, str]
    trunk: tuple[str, ...]
    config: dict[str, Any]

    @property
    def arch(self) -> str:
        return self.config["arch"]

    @property
    def padding(self) -> str:
        return self.config["padding"]

    def child(self, name: str) -> nn.Module:
        """Top-level submodule ``name`` (``self.features`` is the method, the torchvision
        ``features`` Sequential lives here under the same name so its keys match)."""
        return self._modules[name]

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The LoI outputs for input ``x``, in depth order; stops after the last one."""
        modules = dict(self.named_modules())
        out: dict[str, torch.Tensor] = {}
        last = list(self.loi)[-1]

        def hook(name: str):
            def fn(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
                out[name] = output
                if name == last:
                    raise _Stop

            return fn

        handles = [modules[path].register_forward_hook(hook(name)) for name, path in self.loi.items()]
        try:
            self.forward(x)
        except _Stop:
            pass
        finally:
            for handle in handles:
                handle.remove()
        return {name: out[name] for name in self.loi}

    def trace(self, size: int, padless: bool = False) -> dict[str, Axis]:
        """Geometry of every module up to the last LoI along one axis of a ``size``-px input."""
        record: dict[str, Axis] = {"": Axis(size)}
        trace_chain(((name, self.child(name)) for name in self.trunk), Axis(size), "", record, padless)
        return record
