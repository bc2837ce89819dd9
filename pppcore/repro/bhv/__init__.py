"""The BHV test of Kayhan & van Gemert (CVPR 2020, Exp 2), revisited (paper Sec 3.2, Table 1).
Its protocol (data, split protocols, network, training, trajectory inconsistency): docs/protocols.md."""

from ..config import BHVConfig
from .data import (
    BACKGROUNDS,
    BANDS,
    BOX,
    GREEN,
    LEFT_X_MAX,
    MIN_GAP,
    PROTOCOLS,
    RED,
    SHIFT,
    SIZE,
    SPLITS,
    Layout,
    Splits,
    check_protocol,
    dissimilar,
    make_splits,
    render,
    sample_layout,
    trajectories,
)
from .fit import fit, inconsistency, loss_and_accuracy
from .nets import CONV_TYPES, KERNEL, VALID, BHVNet, pad_amount, variants
from .run import run_variant

__all__ = [
    "BACKGROUNDS", "BANDS", "BOX", "CONV_TYPES", "GREEN", "KERNEL", "LEFT_X_MAX", "MIN_GAP", "PROTOCOLS", "RED",
    "SHIFT", "SIZE", "SPLITS", "VALID", "BHVConfig", "BHVNet", "Layout", "Splits", "check_protocol", "dissimilar",
    "loss_and_accuracy", "fit", "inconsistency", "make_splits", "pad_amount", "render", "run_variant", "sample_layout",
    "trajectories", "variants",
]
