"""PPP maps, MAE-PPP and SNR-PPP (paper Eq. 3-5), streamed over any number of images.

Definitions (paper Eq. 3-5 leave the averaging axes open; this is our reading), per layer of interest k, with
A_n the regular feature and O_n the aligned twin feature of image n (C x H x W) and
D_n = |O_n - A_n|:

- ``ppp_map``  = mean_n D_n                      (per channel; ``channel_mean`` for figures)
- ``mae_ppp``  = mean_{c,h,w} ppp_map            (Eq. 5 read literally)
- ``sigma``    = mean_n mean_c std_{h,w}(A_n[c])  (population std over the spatial axes)
- ``snr_ppp``  = mae_ppp / sigma                  (Eq. 4), NaN when the layer is degenerate
- ``stderr``   = std_n(mean_{c,h,w} D_n) / sqrt(N), the per-image MAE's standard error
- ``running_mae`` / ``running_snr``: the estimates after 1, 2, ..., N images.

Accumulation is float64, on the features' device, O(1) in N for the maps (two scalars per
image are kept for the running estimate and the standard error).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .alignment import Alignment, align
from .images import ImageLike, big_crops, normalize as imagenet_normalize
from .io import json_safe
from .models.base import PPPModel
from .padding import seed_randn
from .twin import make_twin

# A layer whose features barely vary in space has no meaningful SNR: the ratio would
# divide two rounding errors (seen: sigma ~ 1e-8 at LoI 4 of a random-init VGG19-bn).
# Degenerate when sigma < max(SIGMA_ABS_FLOOR, SIGMA_REL_FLOOR * mean |A|); float32 features
# carry ~1e-7 relative rounding per operation, so 1e-4 leaves three orders of headroom.
SIGMA_ABS_FLOOR = 1e-6
SIGMA_REL_FLOOR = 1e-4


@dataclass
class PPPResult:
    """PPP of one layer of interest. Fields are readable as attributes or ``result["key"]``."""

    layer: str
    ppp_map: torch.Tensor
    mae_ppp: float
    snr_ppp: float
    sigma: float
    mean_abs: float
    n_images: int
    stderr: float
    running_mae: np.ndarray
    running_snr: np.ndarray
    degenerate: bool

    @property
    def channel_mean(self) -> torch.Tensor:
        """The H x W PPP map averaged over channels (what the figures show)."""
        return self.ppp_map.mean(0)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def summary(self) -> dict[str, Any]:
        """JSON-ready scalars (NaN as ``None``: a degenerate SNR, the stderr of one image)."""
        return json_safe({
            "layer": self.layer,
            "mae_ppp": self.mae_ppp,
            "snr_ppp": self.snr_ppp,
            "sigma": self.sigma,
            "mean_abs": self.mean_abs,
            "n_images": self.n_images,
            "stderr": self.stderr,
            "degenerate": self.degenerate,
            "map_shape": list(self.ppp_map.shape),
        })


class _LayerState:
    def __init__(self) -> None:
        self.sum_abs: torch.Tensor | None = None
        self.mae: list[torch.Tensor] = []
        self.sigma: list[torch.Tensor] = []
        self.mean_abs: list[torch.Tensor] = []


class PPPAccumulator:
    """Streaming PPP over batches: ``update()`` per batch, ``compute()``, ``reset()``.

    Give ``alignment`` to pass raw twin features (they are cropped here); without it the
    twin features must already be aligned. Accumulators from several processes combine
    with ``merge`` (accumulators or their ``state_dict()``s).
    """

    def __init__(self, alignment: Alignment | None = None) -> None:
        self.alignment = alignment
        self.reset()

    def reset(self) -> None:
        self._layers: dict[str, _LayerState] = {}

    def update(self, regular: Mapping[str, torch.Tensor], twin: Mapping[str, torch.Tensor]) -> None:
        """Add a batch: ``regular[k]`` and ``twin[k]`` are N x C x H x W at each layer k."""
        for name, a in regular.items():
            o = twin[name]
            if self.alignment is not None:
                o = self.alignment.align_twin(name, o)
            if o.shape != a.shape:
                raise ValueError(
                    f"layer {name}: twin feature {tuple(o.shape)} does not match regular {tuple(a.shape)}; "
                    "pass the Alignment or crop the twin features first"
                )
            diff = torch.sub(o, a).abs_()
            state = self._layers.setdefault(name, _LayerState())
            mae = diff.mean((1, 2, 3), dtype=torch.float64)
            if not torch.isfinite(mae).all():  # one small check catches NaN/Inf anywhere
                raise FloatingPointError(f"layer {name}: NaN or Inf in the features of this batch")
            batch_sum = diff.sum(0, dtype=torch.float64)
            state.sum_abs = batch_sum if state.sum_abs is None else state.sum_abs.add_(batch_sum)
            state.mae.append(mae)
            state.sigma.append(a.double().std((2, 3), correction=0).mean(1))
            state.mean_abs.append(torch.linalg.vector_norm(a, 1, dim=(1, 2, 3), dtype=torch.float64) / a[0].numel())

    def compute(self) -> dict[str, PPPResult]:
        if not self._layers:
            raise ValueError("no images were accumulated")
        results = {}
        for name, state in self._layers.items():
            mae = torch.cat(state.mae).cpu().numpy()
            sig = torch.cat(state.sigma).cpu().numpy()
            n = len(mae)
            counts = np.arange(1, n + 1)
            running_mae = np.cumsum(mae) / counts
            running_sigma = np.cumsum(sig) / counts
            sigma = float(running_sigma[-1])
            mean_abs = float(torch.cat(state.mean_abs).mean())
            degenerate = sigma < max(SIGMA_ABS_FLOOR, SIGMA_REL_FLOOR * mean_abs)
            with np.errstate(divide="ignore", invalid="ignore"):
                running_snr = running_mae / running_sigma
            if degenerate:
                running_snr = np.full(n, np.nan)
            ppp_map = (state.sum_abs / n).cpu()
            results[name] = PPPResult(
                layer=name,
                ppp_map=ppp_map,
                mae_ppp=float(ppp_map.mean()),
                snr_ppp=float("nan") if degenerate else float(ppp_map.mean()) / sigma,
                sigma=sigma,
                mean_abs=mean_abs,
                n_images=n,
                stderr=float(mae.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
                running_mae=running_mae,
                running_snr=running_snr,
                degenerate=degenerate,
            )
        return results

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """Everything ``compute`` needs, as CPU tensors (to save or send between processes)."""
        return {
            name: {
                "sum_abs": s.sum_abs.cpu(),
                "mae": torch.cat(s.mae).cpu(),
                "sigma": torch.cat(s.sigma).cpu(),
                "mean_abs": torch.cat(s.mean_abs).cpu(),
            }
            for name, s in self._layers.items()
        }

    def merge(self, other: PPPAccumulator | Mapping[str, Mapping[str, torch.Tensor]]) -> PPPAccumulator:
        """Add another accumulator's images to this one (order: this one's first)."""
        states = other.state_dict() if isinstance(other, PPPAccumulator) else other
        for name, s in states.items():
            state = self._layers.setdefault(name, _LayerState())
            sum_abs = s["sum_abs"].to(torch.float64, copy=True)  # never alias the other's state
            if state.sum_abs is not None:
                if state.sum_abs.shape != sum_abs.shape:
                    raise ValueError(f"layer {name}: cannot merge maps {tuple(sum_abs.shape)} into {tuple(state.sum_abs.shape)}")
                sum_abs = state.sum_abs + sum_abs.to(state.sum_abs.device)
            state.sum_abs = sum_abs
            state.mae.append(s["mae"])
            state.sigma.append(s["sigma"])
            state.mean_abs.append(s["mean_abs"])
        return self


def paired_features(
    model: PPPModel, twin: PPPModel, alignment: Alignment, big: torch.Tensor
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(regular, twin) features of a batch of big crops: ``model`` on the regular crop inside
    ``big``, ``twin`` on all of ``big``. The pairing every PPP number rests on, in one place;
    the twin features are raw (``alignment.align_twin`` or :class:`PPPAccumulator` crops them).
    """
    return model.features(alignment.regular_crop(big)), twin.features(big)


def _count(images: Iterable[ImageLike]) -> int | None:
    return len(images) if hasattr(images, "__len__") else None


def measure_ppp(
    model: PPPModel,
    images: Iterable[ImageLike],
    input_size: int | tuple[int, int] = 224,
    device: str | torch.device | None = None,
    batch_size: int = 16,
    *,
    normalize: bool = True,
    seed: int | None = None,
    progress: bool = False,
    alignment: Alignment | None = None,
) -> dict[str, PPPResult]:
    """PPP of ``model`` at every layer of interest, over ``images``, in one pass.

    Each image (C x H x W tensor in [0, 1], PIL image or path) gives a centred big crop for
    the padding-free twin and, inside it, the regular crop for ``model`` (see
    :func:`pppcore.align`); both run under ``no_grad`` in eval mode on ``device`` (default:
    where ``model`` is; the model is moved there). ``normalize`` applies ImageNet mean/std
    to both crops alike. ``seed`` re-seeds ``randn`` padding for repeatable numbers.
    ``alignment`` overrides how crops are cut (e.g. ``align(...).centred()`` for the naive
    crop of Fig. 2); its big crop must be the model's. Returns {LoI name: PPPResult} in
    depth order.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(device).eval()
    exact = align(model, input_size)
    twin = make_twin(model, exact).eval()
    alignment = alignment or exact
    if alignment.big_size != exact.big_size:
        raise ValueError(f"alignment big crop {alignment.big_size} is not the model's {exact.big_size} at {input_size} px")
    if seed is not None:
        seed_randn(model, seed)
    accumulator = PPPAccumulator(alignment)
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm  # optional: the core needs only torch, numpy and pillow
        except ImportError:
            tqdm = None
        bar = tqdm and tqdm(total=_count(images), unit="img", desc=f"PPP {model.arch}/{model.padding}")
    with torch.no_grad():
        for big in big_crops(images, alignment.big_size, batch_size):
            big = big.to(device, non_blocking=True)
            if normalize:
                big = imagenet_normalize(big, inplace=True)  # a fresh batch from big_crops
            accumulator.update(*paired_features(model, twin, alignment, big))
            if bar is not None:
                bar.update(len(big))
    if bar is not None:
        bar.close()
    return accumulator.compute()
