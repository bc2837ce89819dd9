"""pppcore: exact measurement of the Position-information Pattern from Padding (PPP).

Lin et al., "Unveiling The Mask of Position-Information Pattern Through the Mist of Image
Features". ``build_model`` (or ``load_checkpoint``) -> ``align`` -> ``measure_ppp`` is the whole story.
This top level is the metric core (torch, numpy, pillow); the paper's reproduction (training,
baselines, tables, figures) is ``pppcore.repro``, which the core never imports.
"""

from .alignment import Alignment, align
from .checkpoint import load_checkpoint, save_checkpoint
from .conversion import convert
from .metrics import PPPAccumulator, PPPResult, measure_ppp
from .models import ARCHS, build_model
from .padding import PADDINGS
from .runtime import tune_malloc
from .twin import make_twin

__all__ = [
    "ARCHS", "PADDINGS", "Alignment", "PPPAccumulator", "PPPResult", "align", "build_model", "convert", "load_checkpoint", "make_twin",
    "measure_ppp", "save_checkpoint", "tune_malloc",
]
__version__ = "0.1.0"
