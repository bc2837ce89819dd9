"""Weighted F-measure F^w_beta (Margolin, Zelnik-Manor & Tal, CVPR 2014): Table 2's SOD score.

A line-by-line port of the authors' MATLAB ``WFb.m`` (beta^2 = 1), batched in torch:

    E        = |FG - GT|
    Et       = E, with every background pixel taking the error of its nearest foreground
               pixel (``bwdist``): the Gaussian below then treats object edges correctly
    EA       = imfilter(Et, fspecial('gaussian', 7, 5))           (zero padding)
    MIN_E_EA = E, replaced by EA on foreground pixels where EA < E  (pixel dependency:
               an isolated miss inside a correct region costs less than a clustered one)
    B        = 1 on the foreground, 2 - exp(log(0.5) / 5 * dist) on the background
               (pixel importance: a false alarm far from the object costs up to twice
               one next to it)
    Ew       = MIN_E_EA * B
    R = 1 - mean(Ew[GT]),  P = TPw / (TPw + FPw),  F = 2 R P / (R + P)

with TPw = |GT| - sum(Ew[GT]) and FPw = sum(Ew[~GT]). The plain F-measure has none of
the dependency, importance or non-binary handling. An image without foreground scores 0
(as PySODMetrics does; the MATLAB code fails there). Nearest-pixel ties may resolve to a
different pixel than MATLAB's ``bwdist``; the distances are the same exact Euclidean ones.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

EPS = 2.220446049250313e-16  # MATLAB's eps
BETA2 = 1.0


def gaussian_kernel(size: int = 7, sigma: float = 5.0) -> torch.Tensor:
    """MATLAB ``fspecial('gaussian', size, sigma)``: a normalised size x size Gaussian."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    k = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return k / k.sum()


def nearest_foreground(gt: torch.Tensor, max_chunk: int = 2**23) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact Euclidean distance from every pixel to its nearest foreground pixel, and that
    pixel's (row, col) (MATLAB ``bwdist``), for a batch ``gt`` of N x H x W booleans.

    Separable: the nearest foreground row in each column first, then the minimum of
    (x - x')^2 + g(y, x')^2 over all columns x' of the same row. Images without
    foreground get an infinite distance.
    """
    n, h, w = gt.shape
    rows = torch.arange(h, device=gt.device).view(1, h, 1).expand(n, h, w)
    big = h + w + 1  # farther than any real pixel
    above = torch.where(gt, rows, torch.full_like(rows, -big)).cummax(dim=1).values
    below = torch.where(gt, rows, torch.full_like(rows, 2 * big)).flip(1).cummin(dim=1).values.flip(1)
    use_below = (below - rows) < (rows - above)
    near_row = torch.where(use_below, below, above)
    g = (near_row - rows).abs().double()
    g = torch.where(g >= big, torch.full_like(g, math.inf), g)  # no foreground in the column
    cols = torch.arange(w, device=gt.device, dtype=torch.float64)
    dx2 = (cols[:, None] - cols[None, :]) ** 2  # [x, x']
    dist2 = torch.empty(n, h, w, dtype=torch.float64, device=gt.device)
    arg = torch.empty(n, h, w, dtype=torch.long, device=gt.device)
    step = max(1, max_chunk // max(1, h * w * w))
    for i in range(0, n, step):
        cand = dx2.view(1, 1, w, w) + g[i : i + step].unsqueeze(2) ** 2  # [n, y, x, x']
        dist2[i : i + step], arg[i : i + step] = cand.min(dim=-1)
    src_row = near_row.gather(2, arg)
    return dist2.sqrt(), torch.stack([src_row.clamp(0, h - 1), arg], dim=-1)


def weighted_f_measure(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """F^w_beta (beta^2 = 1) of each prediction: ``pred`` N x H x W (or H x W) in [0, 1],
    ``gt`` the same shape, binary. Returns N scores (a 0-d tensor for one image)."""
    single = pred.dim() == 2
    if single:
        pred, gt = pred[None], gt[None]
    if pred.shape != gt.shape or pred.dim() != 3:
        raise ValueError(f"weighted_f_measure: pred {tuple(pred.shape)} and gt {tuple(gt.shape)} "
                         "must both be N x H x W or H x W")
    if pred.numel() and (float(pred.min()) < 0 or float(pred.max()) > 1):
        raise ValueError("weighted_f_measure: pred must lie in [0, 1], "
                         f"got [{float(pred.min()):.3g}, {float(pred.max()):.3g}]")
    gt = gt.bool() if gt.dtype == torch.bool else _binary(gt)
    fg = gt.double()
    err = (pred.double() - fg).abs()
    dist, src = nearest_foreground(gt)
    n, h, w = gt.shape
    flat = (src[..., 0] * w + src[..., 1]).view(n, -1)
    err_t = torch.where(gt, err, err.view(n, -1).gather(1, flat).view(n, h, w))
    k = gaussian_kernel().to(err_t)
    err_a = F.conv2d(err_t[:, None], k[None, None], padding=k.shape[-1] // 2)[:, 0]
    min_e = torch.where(gt & (err_a < err), err_a, err)
    importance = torch.where(gt, torch.ones_like(err), 2 - torch.exp(math.log(0.5) / 5 * dist))
    ew = min_e * importance
    n_fg = fg.sum(dim=(1, 2))
    ew_fg = (ew * fg).sum(dim=(1, 2))
    tp = n_fg - ew_fg
    fp = (ew * (1 - fg)).sum(dim=(1, 2))
    recall = 1 - ew_fg / n_fg.clamp(min=1)
    precision = tp / (EPS + tp + fp)
    q = (1 + BETA2) * recall * precision / (EPS + recall + BETA2 * precision)
    q = torch.where(n_fg > 0, q, torch.zeros_like(q))
    return q[0] if single else q


def _binary(gt: torch.Tensor) -> torch.Tensor:
    values = gt.unique()
    if not bool(((values == 0) | (values == 1)).all()):
        raise ValueError(f"weighted_f_measure: gt must be binary (0/1 or bool), got values {values[:5].tolist()}...")
    return gt == 1
