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
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..images import image_size, list_images, normalize as imagenet_normalize, to_tensor
from ..models import VGG, PPPModel
from ..models.layers import PadMaxPool2d
from ..padding import seed_randn
from .config import default, parse

FEATURE_SIZE = 28  # every tap is resized to 28 x 28 (the original's choice)
MOMENTUM, WEIGHT_DECAY = 0.9, 1e-4
MAX_CONCAT_BYTES = 1 << 30  # cache the concatenated 28 x 28 input when it fits in 1 GiB
# A map whose max - min is below this fraction of its magnitude is constant as far as float32
# can tell (a constant map picks up ~1e-7 relative noise in the conv and the upsampling).
FLAT_RTOL = 1e-5
TARGETS = ("gaussian", "horizontal", "vertical", "stripes_h", "stripes_v")


@dataclass(frozen=True)
class PosENetConfig:
    """The ``posenet:`` config section (see the module docstring for each choice); defaults: the schema's."""

    target: str = default("posenet", "target")
    trials: int = default("posenet", "trials")
    epochs: int = default("posenet", "epochs")
    lr: float = default("posenet", "lr")
    lr_step: int | None = default("posenet", "lr_step")
    batch_size: int = default("posenet", "batch_size")
    input_size: int = default("posenet", "input_size")
    crop_size: int | None = default("posenet", "crop_size")
    n_train: int = default("posenet", "n_train")
    n_eval: int = default("posenet", "n_eval")
    normalize: bool = default("posenet", "normalize")
    seed: int = default("posenet", "seed")

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"posenet.target: unknown {self.target!r}; allowed: {', '.join(TARGETS)}")
        for key in ("trials", "epochs", "batch_size", "n_train", "n_eval"):
            if getattr(self, key) < 1:
                raise ValueError(f"posenet.{key} must be >= 1, got {getattr(self, key)}")
        if self.input_size < FEATURE_SIZE:
            raise ValueError(f"posenet.input_size must be >= {FEATURE_SIZE}, got {self.input_size}")


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
    """(train, eval) batches of ``input_size`` crops in [0, 1], split by mosaic."""
    files = list_images(folder)
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
        raise ValueError(f"posenet.{key}: {n} crops of {side} px asked for, but {len(files)} image(s) hold only {len(picked)}")
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

    Resizing is one linear map per tap, so doing it now (maps larger than 28) or per batch
    (smaller ones, e.g. ResNet's layer4) gives the same numbers; storing the smaller of the
    two keeps e.g. a ResNet50's cache ~8x below the concatenated 28 x 28 tensor. When that
    tensor fits in ``max_concat_bytes`` it is built once instead (faster epochs).
    """

    def __init__(self, levels: list[torch.Tensor], max_concat_bytes: int = MAX_CONCAT_BYTES) -> None:
        for i, f in enumerate(levels):
            if f.dim() != 4 or f.shape[-1] < 1 or f.shape[-2] < 1 or len(f) != len(levels[0]):
                raise ValueError(f"posenet: tap {i} has shape {tuple(f.shape)}; expected N x C x H x W with H, W >= 1 and one N")
        self.levels = levels
        # Small enough: resize and concatenate once, not once per batch and epoch.
        fits = len(self) * self.channels * FEATURE_SIZE**2 * levels[0].element_size() <= max_concat_bytes
        self.concat = torch.cat([_to_grid(f) for f in levels], dim=1) if fits else None

    def __len__(self) -> int:
        return len(self.levels[0])

    @property
    def channels(self) -> int:
        return sum(f.shape[1] for f in self.levels)

    def batch(self, index: torch.Tensor | slice) -> torch.Tensor:
        """The concatenated N x C x 28 x 28 PEM input of images ``index``."""
        if self.concat is not None:
            return self.concat[index]
        return torch.cat([_to_grid(f[index]) for f in self.levels], dim=1)

    @classmethod
    def from_model(cls, model: PPPModel, images: torch.Tensor, cfg: PosENetConfig, device: torch.device | str = "cpu") -> FeatureCache:
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


# ---------------------------------------------------------------- the module, its training, its scores


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


def average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks (0-based, float64) of a 1-D tensor; ties share their average rank."""
    values, order = torch.sort(x.double())
    _, inverse, counts = torch.unique_consecutive(values, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    mean_rank = ends - (counts.double() + 1) / 2
    ranks = torch.empty_like(values)
    ranks[order] = mean_rank[inverse]
    return ranks


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


def train_pem(train: FeatureCache, target: torch.Tensor, cfg: PosENetConfig, seed: int, device: torch.device | str = "cpu") -> tuple[PEM, float]:
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


def evaluate(pem: PEM, data: FeatureCache, target: torch.Tensor, cfg: PosENetConfig, device: torch.device | str = "cpu") -> dict[str, float]:
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


def run_trials(train: FeatureCache, evaluation: FeatureCache, cfg: PosENetConfig, device: torch.device | str = "cpu") -> list[dict[str, Any]]:
    """``cfg.trials`` independent PEMs on the same cached features."""
    target = make_target(cfg.target, cfg.input_size)
    rows = []
    for trial in range(cfg.trials):
        seed = trial_seed(cfg.seed, trial)
        pem, loss = train_pem(train, target, cfg, seed, device)
        rows.append({"trial": trial, "seed": seed, "train_loss": loss, **evaluate(pem, evaluation, target, cfg, device)})
    return rows


def posenet_checkpoint(
    checkpoint: str | os.PathLike, images: str | os.PathLike, cfg: PosENetConfig, json_path: str | os.PathLike, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """The workflow step: features of one checkpoint once, ``trials`` PEMs, one JSON (NaN -> null)."""
    from ..alignment import input_size_for
    from ..checkpoint import load_checkpoint
    from ..io import json_safe, write_json

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


def config_from(section: dict[str, Any] | None) -> PosENetConfig:
    """A :class:`PosENetConfig` from the ``posenet:`` config section; unknown keys are an error."""
    return parse(PosENetConfig, section, "posenet")


__all__: Iterable[str] = [
    "FeatureCache", "PEM", "PosENetConfig", "TARGETS", "config_from", "crops", "evaluate", "make_target",
    "posenet_checkpoint", "run_trials", "spearman", "taps", "train_pem",
]
