"""The run grid's facts, written once and torch-free: the workflow (``rules/common.smk``) and the
library import them alike.

Names (paddings, archs, BHV networks), the checkpoint schedule, the measurement sizes and the
path patterns of the results tree (``{kind}/{arch}/{padding}/seed{seed}/epoch_{epoch:03d}{suffix}``).
Path helpers take Snakemake wildcards by default (``"{arch}"``, ...) and values where given.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..names import ARCHS, CLAMPED, PADDINGS

PAPER_SIZE = 224  # the paper's measurement input size (px)
MIN_INPUT_SIZES = Path(__file__).with_name("min_input_sizes.csv")

# BHV networks (pppcore.repro.bhv): each padding x conv type, padding none once as conv type valid.
BHV_CONV_TYPES: tuple[str, ...] = ("same", "full")
BHV_VALID = "valid"


def bhv_nets(paddings: Sequence[str], conv_types: Sequence[str]) -> list[tuple[str, str]]:
    """(padding, conv type) of every BHV network: each padding x conv type, plus
    ``("none", "valid")`` once when ``none`` is among ``paddings``."""
    nets = [(p, c) for p in paddings if p != "none" for c in conv_types]
    return nets + ([("none", BHV_VALID)] if "none" in paddings else [])


def is_checkpoint(epoch: int, epochs: int, ckpt_every: int) -> bool:
    """Whether training keeps a checkpoint of ``epoch``: 0 (init), every ``ckpt_every``, the last."""
    return epoch % ckpt_every == 0 or epoch == epochs


def checkpoint_epochs(epochs: int, ckpt_every: int) -> list[int]:
    """The epochs whose checkpoints a training run writes (and the workflow declares)."""
    return [e for e in range(epochs + 1) if is_checkpoint(e, epochs, ckpt_every)]


def posenet_epochs(epochs: int) -> list[int]:
    """PosENet measures the init and the trained model."""
    return [0, epochs]


def measure_sizes(input_sizes: Iterable[int] | None, image_size: int) -> list[int]:
    """``ppp.input_sizes`` without repeats (null: the paper's 224 plus the training size);
    the first is the primary size."""
    return list(dict.fromkeys(input_sizes or [PAPER_SIZE, image_size]))


def min_input_sizes() -> dict[tuple[str, str], int]:
    """(arch, padding) -> the smallest input the net can see (``min_input_sizes.csv``)."""
    with open(MIN_INPUT_SIZES) as f:
        return {(r["arch"], r["padding"]): int(r["min_input_size"]) for r in csv.DictReader(f)}


def run_dir(arch: str = "{arch}", padding: str = "{padding}", seed: int | str = "{seed}") -> str:
    """One training run's folder under a kind's root: ``{arch}/{padding}/seed{seed}``."""
    return f"{arch}/{padding}/seed{seed}"


def run_label(arch: str = "{arch}", padding: str = "{padding}", seed: int | str = "{seed}") -> str:
    """One training run in a flat name (logs, benchmarks): ``{arch}_{padding}_seed{seed}``."""
    return f"{arch}_{padding}_seed{seed}"


def epoch_name(epoch: int | str = "{epoch}", suffix: str = "") -> str:
    """One checkpoint's file name: ``epoch_{epoch:03d}{suffix}`` (a string epoch, e.g. the
    ``{epoch}`` wildcard, as it is)."""
    return f"epoch_{epoch:03d}{suffix}" if isinstance(epoch, int) else f"epoch_{epoch}{suffix}"


def run_file(root: str, epoch: int | str = "{epoch}", suffix: str = "", arch: str = "{arch}",
             padding: str = "{padding}", seed: int | str = "{seed}") -> str:
    """``{root}/{arch}/{padding}/seed{seed}/epoch_{epoch:03d}{suffix}``: a checkpoint (root
    ``results/train``, ``.pt``), its PPP (``results/ppp/{size}px``, ``.json`` / ``.npz``) or its
    PosENet JSON (``results/posenet``)."""
    return f"{root}/{run_dir(arch, padding, seed)}/{epoch_name(epoch, suffix)}"


def ppp_root(results: str, size: int) -> str:
    """The PPP files of one measurement size."""
    return f"{results}/ppp/{size}px"


__all__ = [
    "ARCHS", "BHV_CONV_TYPES", "BHV_VALID", "CLAMPED", "MIN_INPUT_SIZES", "PADDINGS", "PAPER_SIZE", "bhv_nets",
    "checkpoint_epochs", "epoch_name", "is_checkpoint", "measure_sizes", "min_input_sizes", "posenet_epochs",
    "ppp_root", "run_dir", "run_file", "run_label",
]
