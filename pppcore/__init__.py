"""pppcore: exact measurement of the Position-information Pattern from Padding (PPP).

Lin et al., "Unveiling The Mask of Position-Information Pattern Through the Mist of Image
Features". ``build_model`` -> ``align`` -> ``measure_ppp`` is the whole story.
"""

from .alignment import Alignment, align
from .metrics import PPPAccumulator, PPPResult, measure_ppp
from .models import ARCHS, build_model
from .padding import PADDINGS
from .runtime import tune_malloc
from .twin import make_twin

__all__ = ["ARCHS", "PADDINGS", "Alignment", "PPPAccumulator", "PPPResult", "align", "build_model", "make_twin", "measure_ppp", "tune_malloc"]
__version__ = "0.1.0"
