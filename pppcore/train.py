"""Resumable, deterministic training that keeps chronological checkpoints.

Every epoch draws its shuffling, augmentation, dropout and ``randn`` padding from seeds
derived from (seed, epoch), never from a carried-over RNG state. So resuming from the
saved state after a crash or ``kill -9`` replays exactly the epochs an uninterrupted run
would have run, and ends with bit-identical weights on the CPU.
"""

from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .checkpoint import save_checkpoint
from .images import normalize
from .io import torch_save, write_text
from .models import build_model
from .padding import seed_randn

LOG_FIELDS = ("epoch", "train_loss", "train_acc", "val_acc", "lr", "seconds")


@dataclass
class TrainConfig:
    arch: str
    padding: str = "zeros"
    seed: int = 0
    width: float = 1.0
    num_classes: int = 10
    epochs: int = 5
    ckpt_every: int = 1
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    model_kwargs: dict[str, Any] | None = None


def _write_log(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def _epoch_seed(cfg: TrainConfig, epoch: int) -> int:
    return cfg.seed * 100_003 + epoch


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: Dataset, batch_size: int = 128) -> float:
    """Top-1 accuracy of ``model`` (eval mode) on ``data``."""
    model.eval()
    correct = 0
    device = next(model.parameters()).device
    for start in range(0, len(data), batch_size):
        x, y = _batch(data, range(start, min(start + batch_size, len(data))), device)
        correct += int((model(normalize(x)).argmax(1) == y).sum())
    return correct / max(1, len(data))


def _batch(data: Dataset, indices, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    items = [data[int(i)] for i in indices]
    return torch.stack([x for x, _ in items]).to(device), torch.tensor([y for _, y in items]).to(device)


def checkpoint_path(out_dir: Path, epoch: int) -> Path:
    return out_dir / f"epoch_{epoch:03d}.pt"


def train(
    cfg: TrainConfig,
    train_set: Dataset,
    val_set: Dataset,
    out_dir: str | os.PathLike,
    state_path: str | os.PathLike,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> list[dict]:
    """Train ``cfg.arch``; write ``epoch_XXX.pt`` at 0, every ``ckpt_every`` and the last
    epoch, plus ``log.csv``; resume from ``state_path`` when it exists. Returns the log.

    Bit-identical resumes are guaranteed on the CPU; on CUDA, cuDNN may pick
    non-deterministic kernels, so a resumed run matches only to rounding."""
    out_dir, state_path = Path(out_dir), Path(state_path)
    model = build_model(cfg.arch, cfg.padding, cfg.num_classes, cfg.width, seed=cfg.seed, **(cfg.model_kwargs or {}))
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, cfg.epochs))
    log: list[dict] = []
    start = 1
    if state_path.exists():
        try:
            state = torch.load(state_path, map_location=device, weights_only=False)
        except Exception as err:
            raise ValueError(f"training state {state_path} cannot be read ({err}); delete it to restart") from err
        if state["config"] != asdict(cfg):
            raise ValueError(f"training state {state_path} belongs to another configuration; delete it to restart")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        log, start = state["log"], state["epoch"] + 1
    else:
        save_checkpoint(checkpoint_path(out_dir, 0), model, epoch=0, val_acc=accuracy(model, val_set))
    for epoch in range(start, cfg.epochs + 1):
        tic = time.perf_counter()
        row = _train_epoch(model, optimizer, train_set, cfg, epoch, progress)
        scheduler.step()
        row.update(epoch=epoch, val_acc=accuracy(model, val_set), seconds=round(time.perf_counter() - tic, 3))
        log.append(row)
        if epoch % cfg.ckpt_every == 0 or epoch == cfg.epochs:
            save_checkpoint(checkpoint_path(out_dir, epoch), model, epoch=epoch, val_acc=row["val_acc"])
        _write_log(log, out_dir / "log.csv")
        torch_save(
            {"config": asdict(cfg), "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "log": log},
            state_path,
        )
    return log


def _train_epoch(model, optimizer, data: Dataset, cfg: TrainConfig, epoch: int, progress: bool) -> dict:
    gen = torch.Generator().manual_seed(_epoch_seed(cfg, epoch))
    torch.manual_seed(_epoch_seed(cfg, epoch))  # dropout, stochastic depth
    seed_randn(model, _epoch_seed(cfg, epoch))
    order = torch.randperm(len(data), generator=gen)
    device = next(model.parameters()).device
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(data), unit="img", desc=f"{cfg.arch}/{cfg.padding} s{cfg.seed} epoch {epoch}/{cfg.epochs}", leave=False)
    for start in range(0, len(order), cfg.batch_size):
        x, y = _batch(data, order[start : start + cfg.batch_size], device)
        flip = (torch.rand(len(x), generator=gen) < 0.5).to(device)
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        logits = model(normalize(x))
        loss = F.cross_entropy(logits, y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{cfg.arch}/{cfg.padding} seed {cfg.seed}: loss is {loss.item()} at epoch {epoch}, batch {start // cfg.batch_size}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * len(x)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(x)
        if bar is not None:
            bar.update(len(x))
    if bar is not None:
        bar.close()
    return {"train_loss": round(total_loss / seen, 6), "train_acc": round(correct / seen, 6), "lr": optimizer.param_groups[0]["lr"]}
