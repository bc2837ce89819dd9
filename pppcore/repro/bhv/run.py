"""The BHV test's job: every trial of one network on one background (the workflow's bhv rule).
The protocol, its data, network, training and metrics: docs/protocols.md (BHV)."""

from __future__ import annotations

import time
from dataclasses import asdict

import torch

from ..config import BHVConfig
from .data import make_splits
from .fit import fit, inconsistency, loss_and_accuracy
from .nets import BHVNet, pad_amount


def run_variant(
    padding: str, conv_type: str, background: str, cfg: BHVConfig, device: torch.device | str = "cpu",
    split: str = "independent",
) -> dict:
    """All trials of one Table 1 cell group under split protocol ``split``: accuracies,
    their difference, inconsistency."""
    pad_amount(padding, conv_type)  # fail before generating data (make_splits checks split first)
    data = make_splits(cfg.n_train, cfg.n_val, cfg.n_test, cfg.n_trajectories, background, cfg.seed, split)
    trials = []
    for t in range(cfg.trials):
        start = time.perf_counter()
        init_seed = 1000 * cfg.seed + t
        model = BHVNet(padding, conv_type, init_seed)
        print(f"[{split}/{padding}/{conv_type}/{background}] trial {t} (seed {init_seed})", flush=True)
        fitted = fit(model, data.train, data.val, cfg, device)
        similar = loss_and_accuracy(model, *data.similar, device=device)[1]
        dissim = loss_and_accuracy(model, *data.dissimilar, device=device)[1]
        trials.append({
            "trial": t, "init_seed": init_seed, "similar": similar, "dissimilar": dissim, "diff": dissim - similar,
            "inconsistency": inconsistency(model, data.trajectories, device=device),
            "seconds": time.perf_counter() - start, **fitted,
        })
        print(f"  similar {similar:.2f}  dissimilar {dissim:.2f}  inconsistency {trials[-1]['inconsistency']:.2f}",
              flush=True)
    return {"split": split, "padding": padding, "conv_type": conv_type, "background": background, "config": asdict(cfg),
            "trials": trials}
