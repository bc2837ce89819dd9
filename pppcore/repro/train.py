"""Resumable, deterministic training that keeps chronological checkpoints.

Every epoch draws its shuffling, augmentation, dropout and ``randn`` padding from seeds
derived from (seed, epoch), never from a carried-over RNG state, and the learning rate
is a pure function of the step. So resuming from the saved state after a crash or
``kill -9`` replays exactly the epochs an uninterrupted run would have run, and ends
with bit-identical weights on the CPU.

Two tasks: ``classification`` (cross-entropy, top-1 accuracy) and ``saliency`` (a
1-channel mask, BCE, weighted F-measure of Margolin et al. 2014). Every checkpoint
carries ``performance`` (in [0, 1], on the validation set) and ``performance_metric``
(``top1`` | ``weighted_f``); classification ones also ``val_acc`` (= performance).
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ..alignment import input_size_for
from ..checkpoint import safe_load, save_checkpoint
from ..images import normalize
from ..io import torch_save, write_text
from ..models import build_model
from ..padding import seed_randn
from .config import TrainConfig
from .data.resized import Resized
from .data.training_sets import training_sets
from .grid import epoch_name
from .init_weights import load_trunk
from .saliency_metrics import weighted_f_measure

LOG_FIELDS = ("epoch", "train_loss", "train_acc", "val_acc", "performance", "lr", "seconds")
METRICS = {"classification": "top1", "saliency": "weighted_f"}
# Tensor layout of the model and its batches while training. channels_last (NHWC) runs the
# tiny CPU models' steps 1.2-1.7x faster (benchmarks/results/memory_format.csv); it changes
# float rounding, not the computation, so it is a recipe key (a change reruns training).
MEMORY_FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
# Fields of TrainConfig that the training state does not record (see _config_record).
_DATA_FIELDS = ("image_size", "n_train", "n_val", "data")


def _write_log(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS, restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def _epoch_seed(cfg: TrainConfig, epoch: int) -> int:
    return cfg.seed * 100_003 + epoch


def learning_rate(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Linear warmup over ``warmup_epochs``, then cosine decay to 0 at the last step.

    Warmup keeps the first large steps from blowing up freshly initialised BatchNorm
    nets (ResNet50's stem gets gradients ~30x its weight norm at init)."""
    total = cfg.epochs * steps_per_epoch
    warm = min(total, round(cfg.warmup_epochs * steps_per_epoch))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def zero_init_residual(model: torch.nn.Module) -> int:
    """Zero the last BatchNorm scale of every ResNet bottleneck (Goyal et al. 2017;
    torchvision's ``zero_init_residual``): each block starts as the identity. Without it
    the 50-layer net's early gradients explode and a few hundred CPU steps learn nothing.
    Returns how many blocks were changed (0 for non-ResNets)."""
    from ..models.resnet import Bottleneck

    blocks = [m for m in model.modules() if isinstance(m, Bottleneck)]
    for block in blocks:
        torch.nn.init.zeros_(block.bn3.weight)
    return len(blocks)


def _loader(data: Dataset, indices, batch_size: int, workers: int) -> DataLoader:
    return DataLoader(data, batch_size=batch_size, sampler=[int(i) for i in indices], num_workers=workers)


def _targets(y, device) -> torch.Tensor:
    return (y if torch.is_tensor(y) else torch.as_tensor(y)).to(device)


@torch.no_grad()
def validate(model: torch.nn.Module, data: Dataset, task: str = "classification", batch_size: int = 128,
             workers: int = 0,
             memory_format: str = "contiguous") -> dict[str, Any]:
    """``performance`` (top-1 accuracy or mean weighted F-measure) of ``model`` (eval mode)
    on ``data``, with ``performance_metric``; classification adds ``val_acc``. ``memory_format``:
    the batches' layout, the model's own (see :data:`MEMORY_FORMATS`)."""
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    for x, y in _loader(data, range(len(data)), batch_size, workers):
        out = model(normalize(x.to(device, memory_format=MEMORY_FORMATS[memory_format])))
        y = _targets(y, device)
        if task == "saliency":
            total += float(weighted_f_measure(torch.sigmoid(out[:, 0]), y[:, 0] > 0.5).sum())  # on the model's device
        else:
            total += int((out.argmax(1) == y).sum())
    performance = total / max(1, len(data))
    result = {"performance": performance, "performance_metric": METRICS[task]}
    if task == "classification":
        result["val_acc"] = performance
    return result


def _config_record(cfg: TrainConfig) -> dict[str, Any]:
    """``cfg`` as the training state stores it: the model and optimisation settings, not the
    data (``image_size``, ``n_train``, ``n_val``, ``data``); without ``init_weights`` when unset
    and ``validate`` / ``memory_format`` at their defaults, so states written before those
    fields existed still resume."""
    record = {k: v for k, v in asdict(cfg).items() if k not in _DATA_FIELDS}
    if record["init_weights"] is None:
        del record["init_weights"]
    if record["validate"] == "every_epoch":
        del record["validate"]
    if record["memory_format"] == "contiguous":
        del record["memory_format"]
    return record


def checkpoint_path(out_dir: Path, epoch: int) -> Path:
    return out_dir / epoch_name(epoch, ".pt")


def train(
    cfg: TrainConfig,
    train_set: Dataset,
    val_set: Dataset,
    out_dir: str | os.PathLike,
    state_path: str | os.PathLike,
    progress: bool = True,
    device: str | torch.device = "cpu",
    workers: int = 0,
) -> list[dict]:
    """Train ``cfg.arch``; write ``epoch_XXX.pt`` at 0, every ``ckpt_every`` and the last
    epoch, plus ``log.csv``; resume from ``state_path`` when it exists. Returns the log.

    ``workers`` data-loading processes (results do not depend on it). Bit-identical
    resumes are guaranteed on the CPU; on CUDA, cuDNN may pick non-deterministic
    kernels, so a resumed run matches only to rounding."""
    out_dir, state_path = Path(out_dir), Path(state_path)
    num_classes = 1 if cfg.task == "saliency" else cfg.num_classes or train_set.num_classes
    model = build_model(cfg.arch, cfg.padding, num_classes, cfg.width, seed=cfg.seed, task=cfg.task,
                        **(cfg.model_kwargs or {}))
    if cfg.zero_init_residual and not zero_init_residual(model):
        raise ValueError(f"zero_init_residual applies to ResNets only, not {cfg.arch}")
    model.to(device, memory_format=MEMORY_FORMATS[cfg.memory_format])
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                                weight_decay=cfg.weight_decay)
    log: list[dict] = []
    start = 1
    extra: dict[str, Any] = {}  # in every checkpoint: the init_weights file's path and sha256
    if state_path.exists():
        state = safe_load(state_path, f"training state {state_path} cannot be read; delete it to restart", device)
        if state.get("config") != _config_record(cfg):
            raise ValueError(f"training state {state_path} belongs to another configuration; delete it to restart")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        log, start = state["log"], state["epoch"] + 1
        extra = {"init_weights": state["init_weights"]} if state.get("init_weights") else {}
    else:
        if cfg.init_weights:  # a fresh start only: a resumed model already holds trained weights
            extra["init_weights"] = load_trunk(model, cfg.init_weights, key=f"train.archs.{cfg.arch}.init_weights")
        scores = validate(model, val_set, cfg.task, workers=workers, memory_format=cfg.memory_format)
        save_checkpoint(checkpoint_path(out_dir, 0), model, epoch=0, **scores, **extra)
    for epoch in range(start, cfg.epochs + 1):
        tic = time.perf_counter()
        row = _train_epoch(model, optimizer, train_set, cfg, epoch, progress, workers)
        scores = {}
        if cfg.validate == "every_epoch" or cfg.is_checkpoint(epoch):
            scores = validate(model, val_set, cfg.task, workers=workers, memory_format=cfg.memory_format)
        row.update(epoch=epoch, val_acc=scores.get("val_acc", ""),
                   performance=round(scores["performance"], 6) if scores else "",
                   seconds=round(time.perf_counter() - tic, 3))
        log.append(row)
        if cfg.is_checkpoint(epoch):
            save_checkpoint(checkpoint_path(out_dir, epoch), model, epoch=epoch, **scores, **extra)
        _write_log(log, out_dir / "log.csv")
        state = {"config": _config_record(cfg), "epoch": epoch, "model": model.state_dict(),
                 "optimizer": optimizer.state_dict(), "log": log}
        torch_save({**state, **extra}, state_path)
    return log


def _train_epoch(model, optimizer, data: Dataset, cfg: TrainConfig, epoch: int, progress: bool,
                 workers: int = 0) -> dict:
    gen = torch.Generator().manual_seed(_epoch_seed(cfg, epoch))
    torch.manual_seed(_epoch_seed(cfg, epoch))  # dropout, stochastic depth
    seed_randn(model, _epoch_seed(cfg, epoch))
    order = torch.randperm(len(data), generator=gen)
    steps = math.ceil(len(data) / cfg.batch_size)
    device = next(model.parameters()).device
    saliency = cfg.task == "saliency"
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(data), unit="img", desc=f"{cfg.arch}/{cfg.padding} s{cfg.seed} epoch {epoch}/{cfg.epochs}",
                   leave=False)
    for i, (x, y) in enumerate(_loader(data, order, cfg.batch_size, workers)):
        x, y = x.to(device, memory_format=MEMORY_FORMATS[cfg.memory_format]), _targets(y, device)
        lr = learning_rate(cfg, (epoch - 1) * steps + i, steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        flip = (torch.rand(len(x), generator=gen) < 0.5).to(device)
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        if saliency:
            y = torch.where(flip.view(-1, 1, 1, 1), y.flip(-1), y).float()
        out = model(normalize(x))
        loss = F.binary_cross_entropy_with_logits(out, y) if saliency else F.cross_entropy(out, y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{cfg.arch}/{cfg.padding} seed {cfg.seed}: loss is {loss.item()} "
                                     f"at epoch {epoch}, batch {i}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * len(x)
        if not saliency:
            correct += int((out.argmax(1) == y).sum())
        seen += len(x)
        if bar is not None:
            bar.update(len(x))
    if bar is not None:
        bar.close()
    return {"train_loss": round(total_loss / seen, 6), "train_acc": "" if saliency else round(correct / seen, 6),
            "lr": lr}


def train_job(cfg: TrainConfig, state_dir: str | os.PathLike, checkpoints: Sequence[str | os.PathLike],
              log_csv: str | os.PathLike, device: str | torch.device = "cpu", workers: int = 0) -> list[dict]:
    """The workflow's ``train`` job: the data of ``cfg.data``, training in ``state_dir`` (kept
    outside the declared outputs so a killed job resumes), then the checkpoints published
    under the declared names ``checkpoints``."""
    train_set, val_set, num_classes = training_sets(cfg.data, cfg.image_size, cfg.n_train, cfg.n_val)
    cfg = replace(cfg, num_classes=num_classes if cfg.task != "saliency" else None)
    model = build_model(cfg.arch, cfg.padding, num_classes=num_classes, width=cfg.width, task=cfg.task,
                        **(cfg.model_kwargs or {}))
    if (size := input_size_for(model, cfg.image_size)) != cfg.image_size:  # none, reflect: same images, more pixels
        print(f"padding {cfg.padding}: training on the images resized to {size} px, "
              f"the smallest input {cfg.arch} can see", flush=True)
        train_set, val_set = Resized(train_set, size), Resized(val_set, size)
    state_dir = Path(state_dir)
    log = train(cfg, train_set, val_set, state_dir, state_dir / "state.pt", device=device, workers=workers)
    written = sorted(state_dir.glob(epoch_name("*", ".pt")))
    if [p.name for p in written] != [Path(c).name for c in checkpoints]:
        raise RuntimeError(f"training wrote {[p.name for p in written]} but the workflow declares "
                           f"{[Path(c).name for c in checkpoints]}")
    for src, dst in zip(written, checkpoints, strict=True):
        publish(src, dst)
    shutil.copyfile(state_dir / "log.csv", log_csv)  # rewritten every epoch: a copy
    return log


def publish(src: Path, dst: str | os.PathLike) -> None:
    """Hard-link (no second copy of every checkpoint at paper scale), else copy."""
    Path(dst).unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
