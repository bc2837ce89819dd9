"""The BHV test's data: biased red/green square layouts, their splits and trajectories.
The protocol, its data, network, training and metrics: docs/protocols.md (BHV)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SIZE, BOX = 32, 4
LEFT_X_MAX = 9  # left square's x in 0..9
MIN_GAP = BOX + 1  # right square at least 5 px further right
BANDS = ((3, 10), (19, 26))  # inclusive y range of the top-left corner for class 0 and class 1
SHIFT = 16  # dissimilar test: class 0 moves down, class 1 up by this much
BACKGROUNDS = {"black": 0.0, "grey": 0.5}
SPLITS = {"train": 0, "val": 1, "test": 2, "trajectories": 3}  # random streams
PROTOCOLS = ("original", "independent")  # split protocols (config bhv.splits; docs/protocols.md)
RED, GREEN = 0, 1  # channel of each square


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
    n_train: int, n_val: int, n_test: int, n_trajectories: int, background: str, seed: int = 0,
    split: str = "independent",
) -> Splits:
    """Every split of one (seed, background) under split protocol ``split`` (docs/protocols.md):
    ``original`` = prefixes of one training layout, ``independent`` = one stream per split."""
    check_protocol(split)

    def labelled(layout: Layout) -> tuple[torch.Tensor, torch.Tensor]:
        return render(layout, background), torch.from_numpy(layout.label)

    if split == "original":
        pool = sample_layout(max(n_train, n_val, n_test), seed, "train")
        train, val, test = pool.head(n_train), pool.head(n_val), pool.head(n_test)
    else:
        sizes = ((n_train, "train"), (n_val, "val"), (n_test, "test"))
        train, val, test = (sample_layout(n, seed, s) for n, s in sizes)
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
        frames = Layout(np.zeros(len(steps), np.int64), one.red_xy.repeat(len(steps), 0),
                        one.green_xy.repeat(len(steps), 0))
        out.append(render(frames.shifted(steps), background))
    return out
