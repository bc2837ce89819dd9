"""The PosENet trial phase as it was before the contracted, batched form: one PEM
module per trial, trained one trial after another on the concatenated 28 x 28 maps.

Moved here verbatim from ``pppcore/repro/posenet.py`` as the reference that
``tests/test_posenet.py`` and ``benchmarks/bench_posenet.py`` compare the fast path with.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pppcore.repro.posenet import (
    MOMENTUM,
    WEIGHT_DECAY,
    FeatureCache,
    PosENetConfig,
    average_ranks,
    make_target,
    spearman,
    trial_seed,
)


class PEM(nn.Module):
    """Position encoding module: 3 x 3 conv (no padding) C -> 1, BatchNorm(1), sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 3, padding=0)
        nn.init.xavier_uniform_(self.conv.weight)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor, size: int) -> torch.Tensor:
        y = torch.sigmoid(self.bn(self.conv(x)))
        return F.interpolate(y, size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def train_pem(train: FeatureCache, target: torch.Tensor, cfg: PosENetConfig, seed: int,
              device: torch.device | str = "cpu") -> tuple[PEM, float]:
    """One trial: a fresh PEM fitted to ``target``; returns it (eval mode) and the last epoch's loss."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        pem = PEM(train.channels)
    pem = pem.to(device).train()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(pem.parameters(), lr=cfg.lr, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    target = target.to(device)
    loss_sum = math.nan
    for epoch in range(cfg.epochs):
        lr = cfg.lr * (0.1 if cfg.lr_step is not None and epoch >= cfg.lr_step else 1.0)
        for group in opt.param_groups:
            group["lr"] = lr
        loss_sum, seen = 0.0, 0
        for idx in torch.randperm(len(train), generator=gen).split(cfg.batch_size):
            pred = pem(train.batch(idx).to(device), cfg.input_size)
            loss = F.mse_loss(pred, target.expand_as(pred))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum, seen = loss_sum + float(loss.detach()) * len(idx), seen + len(idx)
        loss_sum /= seen
    return pem.eval(), loss_sum


def evaluate(pem: PEM, data: FeatureCache, target: torch.Tensor, cfg: PosENetConfig,
             device: torch.device | str = "cpu") -> dict[str, float]:
    """Mean per-image SPC and MAE (NaN kept: one undefined image makes the mean NaN)."""
    spc, mae = [], []
    target_cpu, target = target.cpu(), target.to(device)
    target_ranks = average_ranks(target_cpu.flatten())
    with torch.no_grad():
        for start in range(0, len(data), cfg.batch_size):
            pred = pem(data.batch(slice(start, start + cfg.batch_size)).to(device), cfg.input_size)
            for p in pred:
                spc.append(spearman(p.cpu(), target_cpu, target_ranks))
                mae.append(float((p - target).abs().mean()))
    spc_a, mae_a = np.array(spc), np.array(mae)
    return {"spc": float(spc_a.mean()), "mae": float(mae_a.mean()), "nan_images": int(np.isnan(spc_a).sum())}


def run_trials(train: FeatureCache, evaluation: FeatureCache, cfg: PosENetConfig,
               device: torch.device | str = "cpu") -> list[dict[str, Any]]:
    """``cfg.trials`` independent PEMs on the same cached features."""
    target = make_target(cfg.target, cfg.input_size)
    rows = []
    for trial in range(cfg.trials):
        seed = trial_seed(cfg.seed, trial)
        pem, loss = train_pem(train, target, cfg, seed, device)
        rows.append({"trial": trial, "seed": seed, "train_loss": loss,
                     **evaluate(pem, evaluation, target, cfg, device)})
    return rows
