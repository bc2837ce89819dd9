"""PosENet (Islam et al., ICLR 2020): how well a shallow read-out recovers a fixed pattern.

The baseline the paper revisits in Sec 3.1 and Table 2. A frozen backbone gives multi-level
features; a position encoding module (PEM) is trained to map them to a fixed target
(default a centred 2D Gaussian); SPC (Spearman) and MAE against the target on held-out
images quantify "position information". Optimisation-based, so several trials per
checkpoint; a trial whose SPC is undefined (constant prediction) stays NaN.

Hyper-parameters (original code, islamamirul/position_information, unless marked *ours*):

- Taps: VGG: the ReLU outputs of blocks 1-5 (conv1_2 .. conv5_x); other archs: our four
  LoIs (ResNet: layer1..layer4, as the original; EfficientNet: *ours*, its LoIs).
- Each tap resized bilinearly to 28 x 28 (``align_corners=True``), concatenated (C maps).
- PEM: 3 x 3 conv C -> 1 without padding (Xavier-uniform weight), BatchNorm(1), sigmoid;
  its 26 x 26 output upsampled bilinearly to the input size with ``align_corners=False``
  (the original decoder: True for the taps' resize, False for this one).
- Loss: MSE to the target. SGD, momentum 0.9, weight decay 1e-4 (fixed, as the original);
  ``lr`` (paper 0.1) times 0.1 from epoch ``lr_step`` (paper 10), ``epochs`` (paper 15),
  ``batch_size`` (paper 32), ``input_size`` (paper 224). No augmentation.
- Targets (``input_size`` square): ``gaussian`` exp(-r^2 / 2 s^2), s = half the side, about the
  centre, min-max normalised; ``horizontal`` / ``vertical`` linear 0 -> 1 gradients;
  ``stripes_h`` / ``stripes_v`` 0.5 + 0.5 cos with 2.5 cycles across the side.
- SPC: Spearman of the flattened prediction vs the target per image (average ranks for ties;
  NaN when the prediction is constant, i.e. its spread is below float32 rounding, 1e-5 of
  its magnitude, or non-finite), averaged over images, so one undefined image makes the
  trial NaN as in the original. MAE: per image mean |prediction - target|, averaged.
- Images (*ours*): the measurement tiles, cut into non-overlapping ``crop_size`` windows
  (default ``input_size``; other sizes resized bilinearly, antialiased); the last mosaics
  (share n_eval / (n_train + n_eval), at least one) give evaluation windows, the others
  training windows, taken round-robin over mosaics: train and eval never share a mosaic.
- Normalisation (*ours*: ``normalize: true``): the original feeds [0, 1] pixels without
  mean/std although its torchvision backbones expect ImageNet normalisation. Our backbones
  were trained, and are measured by PPP, on normalised inputs; unnormalised inputs shift
  every first-layer response by ~2 std, which adds a padding-vs-content contrast the
  trained model never saw. ``normalize: false`` reproduces the original.
- Backbone state: the checkpoint as saved, in eval mode (epoch 0: initial BatchNorm
  statistics, as the PPP extraction uses it); ``randn`` pads re-seeded with ``seed``.
- Trials: ``trials`` PEMs (paper 5) with seeds (``seed``, trial) for init and shuffling,
  all trained on features computed once per checkpoint (the backbone is frozen).

Computation (*ours*, same model): the PEM is computed in a contracted form. Resizing and the
conv's channel sum are both linear, so for each of the 9 kernel taps the channels of every
tap are contracted at the size the cache stores them (<= 28 x 28), and only these
single-channel maps are resized to 28 x 28 (as matrix products) and shifted into the 26 x 26
output; the C-channel 28 x 28 tensor is never formed. The trials are trained together, in one
batched pass: stacked weights, each trial with its own init, shuffling order, BatchNorm
statistics and SGD state, and a loss that sums the trials' mean losses. Equal in real
arithmetic to training one conv PEM per trial on the concatenated maps (the former code,
kept as ``tests/posenet_reference.py``); float32 rounding differs, so SPC, MAE and the loss
agree with it to ~1e-6 (a few 1e-6 for SPC at 224 px), not bit for bit.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..alignment import input_size_for
from ..checkpoint import load_checkpoint
from ..images import image_size, list_images, normalize as imagenet_normalize, to_tensor
from ..io import json_safe, write_json
from ..models import VGG, PPPModel
from ..models.layers import PadMaxPool2d
from ..padding import seed_randn
from .config import POSENET_FEATURE_SIZE, POSENET_TARGETS, PosENetConfig

FEATURE_SIZE = POSENET_FEATURE_SIZE  # every tap is resized to 28 x 28 (the original's choice)
TARGETS = POSENET_TARGETS
MOMENTUM, WEIGHT_DECAY = 0.9, 1e-4
MAX_CONCAT_BYTES = 1 << 30  # cache the concatenated 28 x 28 input when it fits in 1 GiB
# A map whose max - min is below this fraction of its magnitude is constant as far as float32
# can tell (a constant map picks up ~1e-7 relative noise in the conv and the upsampling).
FLAT_RTOL = 1e-5


def make_target(kind: str, size: int) -> torch.Tensor:
    """The ``size`` x ``size`` target pattern in [0, 1]."""
    t = torch.arange(size, dtype=torch.float64) / (size - 1)  # 0 .. 1 across the side
    y, x = t[:, None].expand(size, size), t[None, :].expand(size, size)
    if kind == "gaussian":
        g = torch.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / (2 * 0.5**2))  # sigma: half the side
        out = (g - g.min()) / (g.max() - g.min())
    elif kind == "horizontal":
        out = x
    elif kind == "vertical":
        out = y
    elif kind in ("stripes_h", "stripes_v"):
        out = 0.5 + 0.5 * torch.cos(2 * math.pi * 2.5 * (y if kind == "stripes_h" else x))
    else:
        raise ValueError(f"posenet.target: unknown {kind!r}; allowed: {', '.join(TARGETS)}")
    return out.float().contiguous()


# ---------------------------------------------------------------- images and features


def crops(folder: str | os.PathLike, cfg: PosENetConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, eval) batches of ``input_size`` crops in [0, 1], split by mosaic.

    Memoised per process (the folder, its files' names, sizes and mtimes, and ``cfg``): a job
    that measures several checkpoints decodes the tiles once. Callers share the tensors:
    read them, never write into them.
    """
    files = list_images(folder)
    return _crops(str(folder), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files), cfg)


@functools.lru_cache(maxsize=1)  # one job: one image folder, one config (bounds the memory held)
def _crops(folder: str, stamps: tuple[tuple[str, int, int], ...],
           cfg: PosENetConfig) -> tuple[torch.Tensor, torch.Tensor]:
    files = [Path(path) for path, _, _ in stamps]
    if len(files) < 2:
        raise ValueError(f"posenet: {folder} has {len(files)} image(s); the train/eval split needs >= 2")
    n_eval_files = min(len(files) - 1, max(1, round(len(files) * cfg.n_eval / (cfg.n_train + cfg.n_eval))))
    side = cfg.crop_size or cfg.input_size
    return (_windows(files[: len(files) - n_eval_files], side, cfg.n_train, cfg.input_size, "n_train"),
            _windows(files[len(files) - n_eval_files :], side, cfg.n_eval, cfg.input_size, "n_eval"))


def _windows(files: Sequence[os.PathLike], side: int, n: int, size: int, key: str) -> torch.Tensor:
    """The first ``n`` windows in round-robin order over ``files`` (window 0 of each, then 1...)."""
    picked: list[tuple[int, int, int, int]] = []  # (window index, file index, top, left)
    for f, path in enumerate(files):
        w, h = image_size(path)
        grid = [(top, left) for top in range(0, h - side + 1, side) for left in range(0, w - side + 1, side)]
        picked += [(k, f, top, left) for k, (top, left) in enumerate(grid)]
    picked.sort()
    if len(picked) < n:
        raise ValueError(f"posenet.{key}: {n} crops of {side} px asked for, "
                         f"but {len(files)} image(s) hold only {len(picked)}")
    by_file: dict[int, list[tuple[int, int, int]]] = {}
    for i, (_, f, top, left) in enumerate(picked[:n]):
        by_file.setdefault(f, []).append((i, top, left))
    out = torch.empty(n, 3, size, size)
    for f, wins in by_file.items():  # each mosaic is read once
        image = to_tensor(files[f], str(files[f]))
        batch = torch.stack([image[:, top : top + side, left : left + side] for _, top, left in wins])
        if side != size:
            batch = F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out[[i for i, _, _ in wins]] = batch.clamp(0, 1)
    return out


def taps(model: PPPModel) -> dict[str, str]:
    """Tap name -> module path: VGG block 1 plus the LoIs (the original's five), else the LoIs."""
    if isinstance(model, VGG):
        layers = list(model.child("features"))
        first_pool = next(i for i, m in enumerate(layers) if isinstance(m, PadMaxPool2d))
        return {"block1": f"features.{first_pool - 1}", **model.loi}
    return dict(model.loi)


def tap_features(model: PPPModel, x: torch.Tensor) -> list[torch.Tensor]:
    """Outputs of every tap for ``x``, in depth order; the forward stops after the last."""
    return list(model.features(x, taps(model)).values())


def _to_grid(f: torch.Tensor) -> torch.Tensor:
    """Bilinear resize to 28 x 28 with ``align_corners=True`` (identity when already 28)."""
    if tuple(f.shape[-2:]) == (FEATURE_SIZE, FEATURE_SIZE):
        return f
    return F.interpolate(f, size=(FEATURE_SIZE, FEATURE_SIZE), mode="bilinear", align_corners=True)


class FeatureCache:
    """Per-tap feature maps of a fixed image set, stored at min(native, 28 x 28).

    Resizing is one linear map per tap, so doing it now (maps larger than 28) or later
    (smaller ones, e.g. ResNet's layer4) gives the same numbers; storing the smaller of the
    two keeps e.g. a ResNet50's cache ~8x below the concatenated 28 x 28 tensor. The PEMs
    read ``levels`` as stored; ``batch`` (the plain conv path's input) builds the concatenated
    tensor on first use when it fits in ``max_concat_bytes``, else per call.
    """

    def __init__(self, levels: list[torch.Tensor], max_concat_bytes: int = MAX_CONCAT_BYTES) -> None:
        for i, f in enumerate(levels):
            if f.dim() != 4 or f.shape[-1] < 1 or f.shape[-2] < 1 or len(f) != len(levels[0]):
                raise ValueError(f"posenet: tap {i} has shape {tuple(f.shape)}; "
                                 "expected N x C x H x W with H, W >= 1 and one N")
        self.levels = levels
        self.max_concat_bytes = max_concat_bytes
        self._concat: torch.Tensor | None = None

    @property
    def concat(self) -> torch.Tensor | None:
        """The concatenated N x C x 28 x 28 maps (built once, on first use), or None when over ``max_concat_bytes``."""
        fits = len(self) * self.channels * FEATURE_SIZE**2 * self.levels[0].element_size() <= self.max_concat_bytes
        if self._concat is None and fits:
            self._concat = torch.cat([_to_grid(f) for f in self.levels], dim=1)
        return self._concat

    def __len__(self) -> int:
        return len(self.levels[0])

    @property
    def channels(self) -> int:
        return sum(f.shape[1] for f in self.levels)

    def batch(self, index: torch.Tensor | slice) -> torch.Tensor:
        """The concatenated N x C x 28 x 28 input of a plain conv PEM for images ``index``."""
        if (concat := self.concat) is not None:
            return concat[index]
        return torch.cat([_to_grid(f[index]) for f in self.levels], dim=1)

    @classmethod
    def from_model(cls, model: PPPModel, images: torch.Tensor, cfg: PosENetConfig,
                   device: torch.device | str = "cpu") -> FeatureCache:
        model = model.to(device).eval()
        seed_randn(model, cfg.seed)
        parts: list[list[torch.Tensor]] = []
        with torch.no_grad():
            for start in range(0, len(images), cfg.batch_size):
                x = images[start : start + cfg.batch_size].to(device)
                x = imagenet_normalize(x) if cfg.normalize else x
                feats = tap_features(model, x)
                parts.append([_to_grid(f) if f.shape[-2] * f.shape[-1] > FEATURE_SIZE**2 else f for f in feats])
        return cls([torch.cat(level) for level in zip(*parts, strict=True)])


# ---------------------------------------------------------------- the modules, their training, their scores


class PEMs(nn.Module):
    """``T`` position encoding modules (3 x 3 conv C -> 1 without padding, BatchNorm(1), sigmoid),
    one per trial, evaluated together in the contracted form.

    The conv acts on the 28 x 28 grid of resized, concatenated taps; resizing and the channel
    sum are linear, so each kernel tap (dy, dx) contracts the channels of every level at its
    stored size first (one map per trial, tap and level), resizes those maps to 28 x 28 and
    sums the levels: ``R[dy, dx]``; the conv output is ``sum R[dy, dx][dy : dy + 26, dx : dx + 26]``
    plus the bias. Equal in real arithmetic to the conv on the concatenated maps, for a
    fraction of its cost when the maps are deep and small. BatchNorm(1) per trial is one
    BatchNorm over T channels (per-channel batch statistics and running statistics).
    """

    def __init__(self, channels: int, seeds: Sequence[int]) -> None:
        super().__init__()
        weights, biases = [], []
        for seed in seeds:  # each trial's init as a lone nn.Conv2d draws it (default init, then Xavier)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                conv = nn.Conv2d(channels, 1, 3, padding=0)
                nn.init.xavier_uniform_(conv.weight)
            weights.append(conv.weight.detach()[0])
            biases.append(conv.bias.detach()[0])
        self.weight = nn.Parameter(torch.stack(weights))  # T x C x 3 x 3
        self.bias = nn.Parameter(torch.stack(biases))  # T
        self.bn = nn.BatchNorm2d(len(seeds))

    @property
    def trials(self) -> int:
        return len(self.bias)

    def conv(self, data: FeatureCache, index: torch.Tensor | slice) -> torch.Tensor:
        """The B x T x 26 x 26 conv output; ``index``: images shared by every trial (1-D or a
        slice), or T x B, each trial its own images."""
        t, side = self.trials, FEATURE_SIZE - 2
        shared = not (isinstance(index, torch.Tensor) and index.dim() == 2)
        on_grid = None  # levels stored at 28 x 28: their R[dy, dx] summed, then shifted windows
        rows, cols = [], []  # smaller levels: resize and shift as matrix products, summed by one product
        c0 = 0
        for f in data.levels:
            c, (h, w) = f.shape[1], f.shape[-2:]
            k = self.weight[:, c0 : c0 + c].flatten(2).transpose(1, 2)  # T x 9 x C_l
            c0 += c
            if shared:
                x = f[index].to(k.device)  # B x C_l x h x w
                m = k.reshape(t * 9, c) @ x.flatten(2)  # B x 9T x hw
            else:
                x = f.index_select(0, index.flatten().to(f.device)).to(k.device)
                x = x.unflatten(0, index.shape)  # T x B x C_l x h x w
                m = (k[:, None] @ x.flatten(3)).transpose(0, 1)  # B x T x 9 x hw
            m = m.reshape(-1, 3, 3, h, w)  # BT x dy x dx x h x w
            if (h, w) == (FEATURE_SIZE, FEATURE_SIZE):
                on_grid = m if on_grid is None else on_grid + m
                continue
            # R[dy, dx][dy + i, dx + j] = sum U[dy + i, :] M[dy, dx] U[dx + j, :]^T, U the resize to 28:
            # first over (dx, w), then over (dy, h), the latter for every level in one product.
            q = m.permute(0, 1, 3, 2, 4).reshape(-1, 3 * w) @ _shifted_resize(w, m.dtype, m.device).T  # BT 3 h x 26
            rows.append(q.view(-1, 3 * h, side))
            cols.append(_shifted_resize(h, m.dtype, m.device))
        out = torch.cat(cols, 1) @ torch.cat(rows, 1) if rows else 0  # BT x 26 x 26
        if on_grid is not None:
            out = out + sum(on_grid[:, dy, dx, dy : dy + side, dx : dx + side] for dy in range(3) for dx in range(3))
        assert isinstance(out, torch.Tensor)
        return out.view(-1, t, side, side) + self.bias[:, None, None]

    def forward(self, data: FeatureCache, index: torch.Tensor | slice, size: int) -> torch.Tensor:
        """B x T x ``size`` x ``size`` predictions (see :meth:`conv` for ``index``): the 26 x 26
        output upsampled bilinearly (``align_corners=False``), as two matrix products."""
        y = torch.sigmoid(self.bn(self.conv(data, index)))
        up = _resize_matrix(FEATURE_SIZE - 2, size, False).to(y.device, y.dtype)  # size x 26
        return up @ y @ up.T


@functools.lru_cache(maxsize=64)
def _resize_matrix(n: int, size: int, align_corners: bool) -> torch.Tensor:
    """``size`` x ``n``: the 1-D bilinear resize ``F.interpolate`` applies along each axis (float64)."""
    eye = torch.eye(n, dtype=torch.float64)[:, None, :, None]  # n samples, each one source pixel on
    return F.interpolate(eye, size=(size, 1), mode="bilinear", align_corners=align_corners)[:, 0, :, 0].T.contiguous()


def _shifted_resize(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """26 x 3n: [U[0 : 26], U[1 : 27], U[2 : 28]], U the resize of ``n`` pixels to 28 (``_to_grid``)."""
    u = _resize_matrix(n, FEATURE_SIZE, True)
    return torch.cat([u[d : d + FEATURE_SIZE - 2] for d in range(3)], 1).to(device, dtype)


def average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks (0-based, float64) of a 1-D tensor; ties share their average rank. (numpy's
    quicksort: ~4x torch.sort's time on a 224 x 224 map; tied values get one rank, so their
    order in the sort does not matter.)"""
    a = x.detach().cpu().numpy()
    if a.size == 0:
        return torch.empty(0, dtype=torch.float64)
    order = np.argsort(a)
    values = a[order]
    group = np.cumsum(np.r_[True, values[1:] != values[:-1]]) - 1  # index of each sorted value's tie group
    counts = np.bincount(group)
    mean_rank = np.cumsum(counts) - (counts + 1) / 2
    ranks = np.empty(len(a))
    ranks[order] = mean_rank[group]
    return torch.from_numpy(ranks)


def _flat(x: torch.Tensor) -> bool:
    """Constant up to float32 rounding: its ranks would order rounding noise."""
    spread = float(x.max() - x.min())
    return spread <= FLAT_RTOL * float(x.abs().max())


def spearman(a: torch.Tensor, b: torch.Tensor, b_ranks: torch.Tensor | None = None) -> float:
    """Spearman correlation of two flattened maps; NaN when either is non-finite or flat.
    ``b_ranks``: ``average_ranks(b.flatten())`` when already known (the fixed target)."""
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()) or _flat(a) or _flat(b):
        return math.nan
    ra = average_ranks(a.flatten())
    rb = average_ranks(b.flatten()) if b_ranks is None else b_ranks
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(ra.norm() * rb.norm())
    return float((ra * rb).sum()) / denom if denom > 0 else math.nan


def trial_seed(seed: int, trial: int) -> int:
    """Independent streams per (config seed, trial)."""
    return int(np.random.SeedSequence([seed, trial]).generate_state(1)[0])


def fit(train: FeatureCache, target: torch.Tensor, cfg: PosENetConfig, seeds: Sequence[int],
        device: torch.device | str = "cpu") -> tuple[PEMs, list[float]]:
    """Every trial at once: fresh PEMs fitted to ``target``; returns them (eval mode) and each
    one's last-epoch loss. Each trial keeps its own init, shuffling order (its own generator),
    batch statistics and SGD state; the loss is the sum of the trials' mean losses, so each
    trial's gradient is the one it would get alone."""
    pems = PEMs(train.channels, seeds).to(device).train()
    gens = [torch.Generator().manual_seed(seed) for seed in seeds]
    params = list(pems.parameters())
    bufs: list[torch.Tensor | None] = [None] * len(params)
    target = target.to(device)
    loss_sum = np.full(len(seeds), math.nan)
    for epoch in range(cfg.epochs):
        lr = cfg.lr * (0.1 if cfg.lr_step is not None and epoch >= cfg.lr_step else 1.0)
        loss_sum, seen = np.zeros(len(seeds)), 0
        orders = torch.stack([torch.randperm(len(train), generator=gen) for gen in gens])  # T x N
        for idx in orders.split(cfg.batch_size, dim=1):
            pred = pems(train, idx, cfg.input_size)
            loss = ((pred - target) ** 2).mean(dim=(0, 2, 3))  # T: each trial's MSE
            grads = torch.autograd.grad(loss.sum(), params)
            _sgd_step(params, grads, bufs, lr)
            loss_sum, seen = loss_sum + loss.detach().cpu().double().numpy() * idx.shape[1], seen + idx.shape[1]
        loss_sum /= seen
    return pems.eval(), [float(v) for v in loss_sum]


def _sgd_step(params: list[torch.Tensor], grads: Sequence[torch.Tensor], bufs: list[torch.Tensor | None],
              lr: float) -> None:
    """``torch.optim.SGD`` (momentum 0.9, dampening 0, weight decay 1e-4, not Nesterov), elementwise, so
    per trial on stacked parameters. By hand: building an optimizer imports ``torch._dynamo``
    (~2.5 s of a job that trains in well under one)."""
    with torch.no_grad():
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            g = g.add(p, alpha=WEIGHT_DECAY)
            buf = bufs[i]
            if buf is None:
                bufs[i] = buf = g.clone()
            else:
                buf.mul_(MOMENTUM).add_(g)
            p.add_(buf, alpha=-lr)


def score_trials(pems: PEMs, data: FeatureCache, target: torch.Tensor, cfg: PosENetConfig,
             device: torch.device | str = "cpu") -> list[dict[str, float]]:
    """Per trial: mean per-image SPC and MAE (NaN kept: one undefined image makes the mean NaN)."""
    spc: list[list[float]] = [[] for _ in range(pems.trials)]
    mae: list[list[float]] = [[] for _ in range(pems.trials)]
    target_cpu, target = target.cpu(), target.to(device)
    target_ranks = average_ranks(target_cpu.flatten())
    with torch.no_grad():
        for start in range(0, len(data), cfg.batch_size):
            pred = pems(data, slice(start, start + cfg.batch_size), cfg.input_size)  # B x T x S x S
            err = (pred - target).abs().mean(dim=(2, 3)).cpu()
            pred = pred.cpu()
            for t in range(pems.trials):
                spc[t] += [spearman(p, target_cpu, target_ranks) for p in pred[:, t]]
                mae[t] += [float(e) for e in err[:, t]]
    rows = []
    for s, m in zip(spc, mae, strict=True):
        spc_a, mae_a = np.array(s), np.array(m)
        rows.append({"spc": float(spc_a.mean()), "mae": float(mae_a.mean()), "nan_images": int(np.isnan(spc_a).sum())})
    return rows


def run_trials(train: FeatureCache, evaluation: FeatureCache, cfg: PosENetConfig,
               device: torch.device | str = "cpu") -> list[dict[str, Any]]:
    """``cfg.trials`` independent PEMs on the same cached features, trained and scored together."""
    target = make_target(cfg.target, cfg.input_size)
    seeds = [trial_seed(cfg.seed, trial) for trial in range(cfg.trials)]
    pems, losses = fit(train, target, cfg, seeds, device)
    scores = score_trials(pems, evaluation, target, cfg, device)
    return [{"trial": trial, "seed": seed, "train_loss": loss, **score}
            for trial, (seed, loss, score) in enumerate(zip(seeds, losses, scores, strict=True))]


def posenet_checkpoint(
    checkpoint: str | os.PathLike, images: str | os.PathLike, cfg: PosENetConfig, json_path: str | os.PathLike,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """The workflow step: features of one checkpoint once, ``trials`` PEMs, one JSON (NaN -> null)."""
    model = load_checkpoint(checkpoint)
    if (need := input_size_for(model, cfg.input_size)) != cfg.input_size:  # none, reflect: the same windows, resized up
        print(f"posenet: {model.arch}/{model.padding} runs at {need} px, the smallest input it can see", flush=True)
        cfg = replace(cfg, input_size=need, crop_size=cfg.crop_size or cfg.input_size)
    train_x, eval_x = crops(images, cfg)
    try:
        train, evaluation = (FeatureCache.from_model(model, x, cfg, device) for x in (train_x, eval_x))
    except RuntimeError as err:  # e.g. padding none: the maps shrink below a kernel
        raise ValueError(f"posenet: {checkpoint} ({model.arch}, {model.padding}) cannot run on "
                         f"posenet.input_size {cfg.input_size} px: {err}") from err
    trials = run_trials(train, evaluation, cfg, device)
    result = {
        "checkpoint": str(checkpoint), **getattr(model, "checkpoint_meta", {}), "config": model.config,
        "posenet": asdict(cfg), "images": str(images), "taps": taps(model), "channels": train.channels,
        "trials": json_safe(trials),
    }
    write_json(json_path, result)
    return result


__all__: Iterable[str] = [
    "FeatureCache", "PEMs", "PosENetConfig", "TARGETS", "crops", "fit", "make_target",
    "posenet_checkpoint", "run_trials", "spearman", "taps",
]
