"""The "border handling variants" (BHV) test of Kayhan & van Gemert (CVPR 2020, Exp 2), revisited.

Paper Sec 3.2 / Table 1: a small CNN learns whether a red square is left of a green one;
a *location bias* ties each class to one half of the canvas, so a network that exploits
absolute position fails the "dissimilar" test where the halves are swapped. The PPP paper
shows two flaws: the black background makes zeros padding the optimal padding (a grey
background removes F-Conv zeros' advantage), and the network reads absolute position even
without padding (the *trajectory inconsistency*).

Data (as in oskyhn/CNNs-Without-Borders, Exp2_Red_Green, unless noted)
    32 x 32 RGB canvas, one red (1, 0, 0) and one green (0, 1, 0) 4 x 4 square. Class 0:
    red left of green, both in the top band (top rows 3-10); class 1: green left of red,
    both in the bottom band (top rows 19-26). Left square's x in 0-9, the right one uniform
    over x + 5 .. 27 (the original's rejection loop gives the same law); each square draws
    its own y. Labels alternate 0, 1, 0, ... as in the original (balanced batches even
    without shuffling). "Dissimilar" = the "similar" test set with class 0 moved +16 px and
    class 1 -16 px, so the classes swap bands (paired with "similar", as in the original).
    Backgrounds: ``black`` (0, the original) and ``grey`` (0.5 in every channel, our choice
    for the paper's Fig 3); square pixels replace the background in all three channels.

    Split protocols (config ``bhv.splits``; every result records its ``split``):

    - ``original``, the paper's protocol: the original generator calls
      ``np.random.seed(1988)`` on every call, so its validation set and its "similar" test
      set are the first ``n_val`` / ``n_test`` training images (val == similar == train[:n];
      early stopping and "similar" accuracy see training images) and "dissimilar" is the
      twin of that similar set. The PPP paper reused that code, so its Table 1 was measured
      this way. Here: one layout of ``max(n_train, n_val, n_test)`` samples is drawn from
      the ``(seed, "train")`` stream and each split is a prefix of it (vectorised numpy
      draws are not prefix-stable, so it is drawn once and sliced).
    - ``independent``, a robustness variant and a deviation from the paper's protocol:
      every split has its own stream, ``numpy.random.default_rng([seed, split_id])``, so
      validation and test images are (almost surely) unseen in training.

    The trajectories have their own stream under both protocols.

Network (original)
    Four 3 x 3 convs without bias (3 -> 32 -> 32 -> 64 -> 64, strides 1, 2, 2, 2), ReLU,
    global max pool, linear 64 -> 2; PyTorch default init. Padding per conv type:
    ``same`` pads k // 2 = 1, ``full`` (F-Conv) pads k - 1 = 2 on every side and never crops
    (the growing map goes into the max pool), ``none`` pads nothing (conv type ``valid``).
    Paddings are :mod:`pppcore.padding` policies through :class:`PadConv2d`, so ``randn``
    is exactly the main models' policy (pads the pre-activation, window 3, seeded stream,
    stochastic in eval mode too; trajectories of ``randn`` models therefore include its
    noise, as any use of the model would).

    *Difference from what the original code computed* (circular only): the original ran on
    PyTorch <= 1.4, whose ``Conv2d(padding=p, padding_mode='circular')`` padded
    ``(p + 1) // 2`` px before and ``p // 2`` px after in each dimension. Its F-Conv
    circular (p = 2) therefore padded 1 px per side, i.e. was in effect a same-size
    circular conv, and its same-conv circular (p = 1) padded 1 px before and 0 after. Here
    circular pads ``p`` px on every side (1 for same, 2 for F-Conv) like every other scheme.

    Consequence worth knowing when reading Table 1: the +-16 px swap is a multiple of the
    total stride 8, so F-Conv zeros on *black* (pad = background, nothing cropped, no bias)
    and circular padding (a cyclic shift) give *identical* logits on the similar and the
    dissimilar image, trained or not (tested): their Diff is 0 by construction. On grey,
    F-Conv zeros loses this.

Training (original)
    Cross-entropy, Adadelta (lr 1.0, rho 0.9, eps 1e-6, weight decay 5e-5), batch 200,
    training data in fixed order (no shuffling, as the original's DataLoader), up to 50
    epochs, early stopping on the mean validation loss, best weights restored for testing.
    *Deviation*: training stops once ``patience`` epochs in a row fail to improve (the
    original's counter let one more epoch through). Trial ``t`` seeds the initial weights
    and the randn streams with ``1000 * seed + t``; the data of one ``seed`` is shared by
    all trials, models and backgrounds (the two backgrounds see identical square positions:
    a paired comparison). Same config -> same numbers. The tiny default (config.yaml) trains
    2 trials of at most 8 epochs on 500 images in batches of 25 (20 steps per epoch), so
    models are undertrained there; the defaults of :class:`BHVConfig` and of the config
    schema are the paper's.

Trajectory inconsistency (PPP paper Sec 3.2)
    ``n_trajectories`` class-0 samples from their own stream; each trajectory moves both
    squares down together 1 px per step from the start until the lower square touches the
    bottom row. It is inconsistent when the predicted class changes anywhere along it; the
    rate is the percentage of inconsistent trajectories. A model that sees only relative
    position scores 0 % (tested).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.layers import PadConv2d
from ..padding import check_padding, seed_randn
from .config import BHVConfig
from .grid import BHV_CONV_TYPES as CONV_TYPES, BHV_VALID as VALID, bhv_nets

SIZE, BOX, KERNEL = 32, 4, 3
LEFT_X_MAX = 9  # left square's x in 0..9
MIN_GAP = BOX + 1  # right square at least 5 px further right
BANDS = ((3, 10), (19, 26))  # inclusive y range of the top-left corner for class 0 and class 1
SHIFT = 16  # dissimilar test: class 0 moves down, class 1 up by this much
BACKGROUNDS = {"black": 0.0, "grey": 0.5}
SPLITS = {"train": 0, "val": 1, "test": 2, "trajectories": 3}  # random streams
PROTOCOLS = ("original", "independent")  # split protocols (config bhv.splits; module docstring)
RED, GREEN = 0, 1  # channel of each square
variants = bhv_nets  # (padding, conv type) of every network of Table 1


@dataclass(frozen=True)
class Layout:
    """Square positions of ``n`` samples (top-left corners) and their labels."""

    label: np.ndarray
    red_xy: np.ndarray  # n x 2 (x, y)
    green_xy: np.ndarray

    def head(self, n: int) -> Layout:
        """The first ``n`` samples."""
        if n > len(self.label):
            raise ValueError(f"{n} samples asked of a layout of {len(self.label)}")
        return Layout(self.label[:n], self.red_xy[:n], self.green_xy[:n])

    def shifted(self, dy: np.ndarray | int) -> Layout:
        dy = np.broadcast_to(np.asarray(dy), self.label.shape)
        move = np.stack([np.zeros_like(dy), dy], axis=1)
        return Layout(self.label, self.red_xy + move, self.green_xy + move)


def sample_layout(n: int, seed: int, split: str, labels: np.ndarray | None = None) -> Layout:
    """``n`` samples of the biased distribution from the ``(seed, split)`` stream."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    rng = np.random.default_rng([seed, SPLITS[split]])
    label = np.arange(n) % 2 if labels is None else np.asarray(labels)
    x_left = rng.integers(0, LEFT_X_MAX + 1, n)
    x_right = rng.integers(x_left + MIN_GAP, SIZE - BOX + 1)
    lo = np.where(label == 0, BANDS[0][0], BANDS[1][0])
    y_left = rng.integers(lo, lo + BANDS[0][1] - BANDS[0][0] + 1)
    y_right = rng.integers(lo, lo + BANDS[0][1] - BANDS[0][0] + 1)
    left, right = np.stack([x_left, y_left], 1), np.stack([x_right, y_right], 1)
    red_left = (label == 0)[:, None]
    return Layout(label.astype(np.int64), np.where(red_left, left, right), np.where(red_left, right, left))


def render(layout: Layout, background: str) -> torch.Tensor:
    """``n x 3 x 32 x 32`` float images of ``layout`` on ``background``."""
    if background not in BACKGROUNDS:
        raise ValueError(f"unknown background {background!r}; allowed: {', '.join(BACKGROUNDS)}")
    n = len(layout.label)
    img = torch.full((n, 3, SIZE, SIZE), BACKGROUNDS[background])
    for channel, xy in ((RED, layout.red_xy), (GREEN, layout.green_xy)):
        if (xy < 0).any() or (xy > SIZE - BOX).any():
            raise ValueError("a square leaves the canvas")
        colour = torch.zeros(3)
        colour[channel] = 1.0
        for i, (x, y) in enumerate(xy.tolist()):
            img[i, :, y : y + BOX, x : x + BOX] = colour[:, None, None]
    return img


@dataclass
class Splits:
    """Images and labels of every split of one (seed, background)."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    similar: tuple[torch.Tensor, torch.Tensor]
    dissimilar: tuple[torch.Tensor, torch.Tensor]
    trajectories: list[torch.Tensor]


def check_protocol(split: str) -> None:
    if split not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {split!r}; allowed: {', '.join(PROTOCOLS)}")


def make_splits(
    n_train: int, n_val: int, n_test: int, n_trajectories: int, background: str, seed: int = 0, split: str = "independent"
) -> Splits:
    """Every split of one (seed, background) under split protocol ``split`` (module docstring):
    ``original`` = prefixes of one training layout, ``independent`` = one stream per split."""
    check_protocol(split)

    def labelled(layout: Layout) -> tuple[torch.Tensor, torch.Tensor]:
        return render(layout, background), torch.from_numpy(layout.label)

    if split == "original":
        pool = sample_layout(max(n_train, n_val, n_test), seed, "train")
        train, val, test = pool.head(n_train), pool.head(n_val), pool.head(n_test)
    else:
        train, val, test = (sample_layout(n, seed, s) for n, s in ((n_train, "train"), (n_val, "val"), (n_test, "test")))
    return Splits(
        train=labelled(train),
        val=labelled(val),
        similar=labelled(test),
        dissimilar=labelled(dissimilar(test)),
        trajectories=trajectories(n_trajectories, background, seed),
    )


def dissimilar(layout: Layout) -> Layout:
    """The swapped-bias twin: class 0 moves down into class 1's band, class 1 up."""
    return layout.shifted(np.where(layout.label == 0, SHIFT, -SHIFT))


def trajectories(n: int, background: str, seed: int = 0) -> list[torch.Tensor]:
    """``n`` class-0 trajectories, each ``T_i x 3 x 32 x 32``: both squares moved down 1 px
    per step from the sample until the lower one touches the bottom row (T_i >= 2)."""
    start = sample_layout(n, seed, "trajectories", labels=np.zeros(n, dtype=np.int64))
    out = []
    for i in range(n):
        one = Layout(start.label[i : i + 1], start.red_xy[i : i + 1], start.green_xy[i : i + 1])
        lowest = max(one.red_xy[0, 1], one.green_xy[0, 1])
        steps = np.arange(SIZE - BOX - lowest + 1)
        frames = Layout(np.zeros(len(steps), np.int64), one.red_xy.repeat(len(steps), 0), one.green_xy.repeat(len(steps), 0))
        out.append(render(frames.shifted(steps), background))
    return out


# ---------------------------------------------------------------------------- network


def pad_amount(padding: str, conv_type: str) -> int:
    """Pixels per side: k // 2 for same-conv, k - 1 for F-Conv, 0 without padding."""
    check_padding(padding)
    if padding == "none":
        if conv_type != VALID:
            raise ValueError(f"padding 'none' goes with conv type {VALID!r}, got {conv_type!r}")
        return 0
    if conv_type not in CONV_TYPES:
        raise ValueError(f"unknown conv type {conv_type!r} for padding {padding!r}; allowed: {', '.join(CONV_TYPES)}")
    return KERNEL // 2 if conv_type == "same" else KERNEL - 1


class BHVNet(nn.Module):
    """The four-conv classifier of the BHV test (see the module docstring)."""

    def __init__(self, padding: str, conv_type: str, seed: int = 0) -> None:
        super().__init__()
        amount = pad_amount(padding, conv_type)
        self.padding, self.conv_type = padding, conv_type
        widths, strides = (3, 32, 32, 64, 64), (1, 2, 2, 2)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.convs = nn.Sequential(*(
                PadConv2d(widths[i], widths[i + 1], KERNEL, strides[i], amount, bias=False,
                          scheme=padding if amount else "none", act=nn.ReLU() if i else None)
                for i in range(4)
            ))
            self.fc = nn.Linear(widths[-1], 2)
        seed_randn(self, seed)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv's ReLU map, before the global max pool (F-Conv: it grows)."""
        return F.relu(self.convs(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.amax(self.features(x), dim=(-2, -1)))


# ---------------------------------------------------------------------------- training


def _batches(x: torch.Tensor, y: torch.Tensor, size: int):
    for i in range(0, len(x), size):
        yield x[i : i + size], y[i : i + size]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500, device: torch.device | str = "cpu") -> tuple[float, float]:
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
    model: nn.Module, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor], cfg: BHVConfig, device: torch.device | str = "cpu"
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
        val_loss, val_acc = evaluate(model, *val, device=device)
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
def inconsistency(model: nn.Module, trajs: Sequence[torch.Tensor], batch_size: int = 1000, device: torch.device | str = "cpu") -> float:
    """Percentage of trajectories along which the predicted class ever changes."""
    if not trajs:
        raise ValueError("no trajectories")
    model.eval()
    frames = torch.cat(list(trajs))
    preds = torch.cat([model(frames[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(frames), batch_size)])
    switched = [bool((p != p[0]).any()) for p in preds.split([len(t) for t in trajs])]
    return 100.0 * sum(switched) / len(switched)


def run_variant(
    padding: str, conv_type: str, background: str, cfg: BHVConfig, device: torch.device | str = "cpu", split: str = "independent"
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
        similar = evaluate(model, *data.similar, device=device)[1]
        dissim = evaluate(model, *data.dissimilar, device=device)[1]
        trials.append({
            "trial": t, "init_seed": init_seed, "similar": similar, "dissimilar": dissim, "diff": dissim - similar,
            "inconsistency": inconsistency(model, data.trajectories, device=device),
            "seconds": time.perf_counter() - start, **fitted,
        })
        print(f"  similar {similar:.2f}  dissimilar {dissim:.2f}  inconsistency {trials[-1]['inconsistency']:.2f}", flush=True)
    return {"split": split, "padding": padding, "conv_type": conv_type, "background": background, "config": asdict(cfg), "trials": trials}
