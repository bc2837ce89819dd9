"""The BHV test's training (Adadelta, early stopping), accuracy and trajectory inconsistency.
The protocol, its data, network, training and metrics: docs/protocols.md (BHV)."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..config import BHVConfig


def _batches(x: torch.Tensor, y: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i : i + size], y[i : i + size]


@torch.no_grad()
def loss_and_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500,
             device: torch.device | str = "cpu") -> tuple[float, float]:
    """(mean cross-entropy, accuracy in %) of ``model`` on ``(x, y)``."""
    model.eval()
    loss, correct = 0.0, 0
    for xb, yb in _batches(x, y, batch_size):
        xb, yb = xb.to(device), yb.to(device)
        out = model(xb)
        loss += float(F.cross_entropy(out, yb, reduction="sum"))
        correct += int((out.argmax(1) == yb).sum())
    return loss / len(x), 100.0 * correct / len(x)


def fit(
    model: nn.Module, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor], cfg: BHVConfig,
    device: torch.device | str = "cpu",
) -> dict:
    """Adadelta with early stopping on validation loss; restores the best weights."""
    model.to(device)
    opt = torch.optim.Adadelta(model.parameters(), lr=cfg.lr, rho=cfg.rho, eps=cfg.eps, weight_decay=cfg.weight_decay)
    best, best_state, best_epoch, waited, history = math.inf, None, 0, 0, []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        for xb, yb in _batches(*train, cfg.batch_size):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb.to(device)), yb.to(device)).backward()
            opt.step()
        val_loss, val_acc = loss_and_accuracy(model, *val, device=device)
        history.append({"epoch": epoch, "val_loss": val_loss, "val_acc": val_acc})
        print(f"epoch {epoch:3d}  val loss {val_loss:.4f}  val acc {val_acc:6.2f}", flush=True)
        if val_loss < best:
            best, best_state, best_epoch, waited = val_loss, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            waited += 1
            if waited >= cfg.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"best_epoch": best_epoch, "epochs_run": len(history), "best_val_loss": best, "history": history}


@torch.no_grad()
def inconsistency(model: nn.Module, trajs: Sequence[torch.Tensor], batch_size: int = 1000,
                  device: torch.device | str = "cpu") -> float:
    """Percentage of trajectories along which the predicted class ever changes."""
    if not trajs:
        raise ValueError("no trajectories")
    model.eval()
    frames = torch.cat(list(trajs))
    preds = torch.cat([model(frames[i : i + batch_size].to(device)).argmax(1).cpu()
                       for i in range(0, len(frames), batch_size)])
    switched = [bool((p != p[0]).any()) for p in preds.split([len(t) for t in trajs])]
    return 100.0 * sum(switched) / len(switched)
