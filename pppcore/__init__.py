"""pppcore: exact measurement of the Position-information Pattern from Padding (PPP).

Lin et al., "Unveiling The Mask of Position-Information Pattern Through the Mist of Image
Features". ``build_model`` (or ``load_checkpoint``) -> ``align`` -> ``measure_ppp`` is the whole story.
This top level is the metric core (torch, numpy, pillow); the paper's reproduction (training,
baselines, tables, figures) is ``pppcore.repro``, which the core never imports.

The names below are imported on first use, so ``import pppcore.repro.grid`` (the workflow's
parse step) and ``import pppcore.repro.config`` cost no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .alignment import Alignment, align
    from .checkpoint import load_checkpoint, save_checkpoint
    from .conversion import convert
    from .metrics import PPPAccumulator, PPPResult, measure_ppp
    from .models import ARCHS, build_model
    from .padding import PADDINGS
    from .runtime import tune_malloc
    from .twin import make_twin

# public name -> the submodule that defines it
_EXPORTS = {
    "Alignment": "alignment", "align": "alignment", "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
    "convert": "conversion", "PPPAccumulator": "metrics", "PPPResult": "metrics", "measure_ppp": "metrics",
    "ARCHS": "models", "build_model": "models", "PADDINGS": "padding", "tune_malloc": "runtime", "make_twin": "twin",
}
__all__ = [
    "ARCHS", "PADDINGS", "Alignment", "PPPAccumulator", "PPPResult", "align", "build_model", "convert",
    "load_checkpoint", "make_twin", "measure_ppp", "save_checkpoint", "tune_malloc",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
