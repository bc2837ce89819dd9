"""Models the project did not build: a torchvision architecture or a user's factory, with
weights from a local file, converted for PPP.

Nothing is downloaded: torchvision builds its architecture with random weights and the
weights come from ``weights`` (torchvision's own ImageNet ``.pth`` files work as they are).
A weights file that does not fit is refused naming the file and the first missing or
unexpected key (or the first shape that differs) before anything is measured. torchvision is
imported only here, when asked for, so that ``import pppcore`` stays torch, numpy and pillow.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from .checkpoint import read_state
from .conversion import convert
from .graph_model import GraphModel


def parse_taps(text: str | None) -> dict[str, str] | None:
    """``"a=layer1,b=layer2.1.relu"`` -> ``{"a": "layer1", "b": "layer2.1.relu"}`` (the CLI's ``--taps``)."""
    if not text:
        return None
    taps = {}
    for item in text.split(","):
        name, sep, node = item.partition("=")
        if not sep or not name.strip() or not node.strip():
            raise ValueError(f"--taps: {item!r} is not name=node (e.g. --taps c2=layer1,c3=layer2)")
        taps[name.strip()] = node.strip()
    return taps


def load_factory(spec: str) -> Callable[[], nn.Module]:
    """``"package.module:factory"`` (importable) or ``"path/to/file.py:factory"`` -> the callable."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"module {spec!r}: expected package.module:factory or path/to/file.py:factory")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise FileNotFoundError(f"module {spec!r}: no such file {path}")
        loader = importlib.util.spec_from_file_location(f"pppcore_external_{path.stem}", path)
        module = importlib.util.module_from_spec(loader)
        try:
            loader.loader.exec_module(module)
        except Exception as err:
            raise ValueError(f"module {spec!r}: {path} fails on import ({type(err).__name__}: {err})") from err
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ValueError(f"module {spec!r}: cannot import {module_name} ({err})") from err
    factory = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise ValueError(f"module {spec!r}: {module_name} has no attribute {attr}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise ValueError(f"module {spec!r}: {attr} is not callable")
    return factory


def torchvision_model(name: str) -> nn.Module:
    """torchvision's ``name`` with random weights (its ImageNet head, 1000 classes)."""
    try:
        from torchvision import models
    except ImportError as err:  # pragma: no cover - torchvision is a dependency of the project
        raise ValueError(f"torchvision {name!r}: torchvision is not installed ({err})") from err
    available = models.list_models(module=models)
    if name not in available:
        raise ValueError(f"torchvision {name!r}: not a torchvision classification model "
                         f"(e.g. {', '.join(available[:6])}, ...)")
    return models.get_model(name, weights=None)


def _state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"weights {path}: no such file (nothing is downloaded; put the .pth there)")
    _, state = read_state(path, "weights")
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"weights {path}: not a state_dict (a mapping of names to tensors)")
    return dict(state)


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load ``path`` into ``model`` strictly; the error names the file and the first key that
    is missing, unexpected or of another shape (and how many more there are)."""
    state, own = _state_dict(path), model.state_dict()
    missing, unexpected = [k for k in own if k not in state], [k for k in state if k not in own]
    for what, keys in (("missing", missing), ("unexpected", unexpected)):
        if keys:
            more = f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""
            raise ValueError(f"weights {path}: {what} key {keys[0]!r}{more} for a {type(model).__name__}")
    for key, value in state.items():
        if value.shape != own[key].shape:
            raise ValueError(f"weights {path}: {key!r} has shape {tuple(value.shape)}, "
                             f"the model expects {tuple(own[key].shape)}")
    model.load_state_dict(state)
    return model


def build_external(
    *,
    torchvision: str | None = None,
    module: str | None = None,
    weights: str | os.PathLike | None = None,
    padding: str = "zeros",
    taps: Mapping[str, str] | None = None,
    probe_size: int = 128,
) -> GraphModel:
    """A torchvision architecture (``torchvision="resnet50"``) or a factory
    (``module="pkg.mod:factory"``), with ``weights`` if given, converted to ``padding``.

    The weights load into the model as built (its own keys), then :func:`~pppcore.convert`
    puts its padding under the policy; the source and weights file go into ``config``.
    """
    if (torchvision is None) == (module is None):
        raise ValueError("an external model needs exactly one of torchvision (an architecture name) "
                         "or module (package.module:factory)")
    if torchvision is not None:
        model, arch, source = torchvision_model(torchvision), torchvision, f"torchvision:{torchvision}"
    else:
        built = load_factory(module)()
        if not isinstance(built, nn.Module):
            raise ValueError(f"module {module!r}: the factory returned a {type(built).__name__}, not an nn.Module")
        model, arch, source = built, module.rpartition(":")[2], f"module:{module}"
    if weights is not None:
        load_weights(model, weights)
    converted = convert(model, padding, taps, arch=arch, probe_size=probe_size)
    converted.config.update(source=source, weights=None if weights is None else str(weights))
    return converted
