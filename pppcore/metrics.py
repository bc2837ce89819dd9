"""PPP maps, MAE-PPP and SNR-PPP (paper Eq. 3-5), streamed over any number of images.

Definitions (paper Eq. 3-5 leave the averaging axes open; this is our reading), per layer of interest k, with
A_n the regular feature and O_n the aligned twin feature of image n (C x H x W) and
D_n = |O_n - A_n|:

- ``ppp_map``  = mean_n D_n                      (per channel; ``channel_mean`` for figures)
- ``mae_ppp``  = mean_{c,h,w} ppp_map            (Eq. 5 read literally)
- ``sigma``    = mean_n mean_c std_{h,w}(A_n[c])  (population std over the spatial axes)
- ``snr_ppp``  = mae_ppp / sigma                  (Eq. 4), NaN when the layer is degenerate
- the other SNR readings (:data:`SNR_READINGS`) divide the same ``mae_ppp`` by another sigma
  that Eq. 4's "standard deviation on the spatial dimensions" admits (:data:`SIGMAS`)
- ``zero_ppp``: ``mae_ppp <= ZERO_PPP_REL * mean|A|``; every SNR reading of such a layer is 0
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

# Both floors are relative to the feature magnitude mean |A|, so they mean the same at any
# feature scale (a random EfficientNet-B0's features are ~1e-10 as saved; its ratios are
# still well defined). float32 features carry ~1e-7 relative rounding per operation, so 1e-4
# leaves three orders of headroom.
#
# A PPP at most ZERO_PPP_REL of the features it sits on is zero PPP: every SNR reading is 0,
# whatever sigma is. The claims' "~0 PPP at init" (the paper's 0.0000 rows) is this same
# test, so an init the claims call zero-PPP reads as zero SNR (not a ratio of two ~1e-6
# numbers on one seed and an undefined value on another).
ZERO_PPP_REL = 1e-4
# A layer with real PPP whose features barely vary has no meaningful SNR: the ratio would
# divide by rounding error (seen: sigma ~ 1e-8 at LoI 4 of a random-init VGG19-bn): NaN.
SIGMA_REL_FLOOR = 1e-4


def _degenerate(sigma: float, mean_abs: float) -> bool:
    return not sigma >= SIGMA_REL_FLOOR * mean_abs or not sigma > 0


def is_zero_ppp(mae_ppp: float, mean_abs: float) -> bool:
    """Whether a layer's PPP is zero: at most :data:`ZERO_PPP_REL` of the features' magnitude."""
    return mae_ppp <= ZERO_PPP_REL * mean_abs


def _ratio(num: float, den: float, degenerate: bool = False) -> float:
    return float("nan") if degenerate or den == 0 else num / den


def _snr(mae_ppp: float, sigma: float, mean_abs: float, zero: bool) -> float:
    """One SNR reading: 0 for zero PPP, NaN for a degenerate sigma, else the ratio."""
    return 0.0 if zero else _ratio(mae_ppp, sigma, _degenerate(sigma, mean_abs))


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
    signed_map: torch.Tensor
    signed_mae: float
    noise_floor: float
    sigma_chw: float
    sigma_meanmap: float
    snr_chw: float
    snr_meanmap: float
    mae_rel: float
    sigma_pooled: float
    sigma_pooled_chw: float
    sigma_chanmean: float
    snr_pooled: float
    snr_pooled_chw: float
    snr_chanmean: float
    zero_ppp: bool

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
            **{k: getattr(self, k) for k in READINGS},
            "sigma": self.sigma,
            "mean_abs": self.mean_abs,
            "n_images": self.n_images,
            "stderr": self.stderr,
            "degenerate": self.degenerate,
            "zero_ppp": self.zero_ppp,
            "map_shape": list(self.ppp_map.shape),
        })


# Eq. 4's sigma, "the standard deviation on the spatial dimensions" of A, under every reading
# we find defensible: SNR reading -> (its sigma field, what the std is taken over). Each is a
# population std; "per image" ones are averaged over the images, "per channel" ones over C.
SIGMAS = {
    "snr_ppp": ("sigma", "H, W per image and channel (Eq. 4 as written)"),
    "snr_chw": ("sigma_chw", "C, H, W per image"),
    "snr_chanmean": ("sigma_chanmean", "H, W of each image's channel-mean map (what Fig 4 shows)"),
    "snr_meanmap": ("sigma_meanmap", "H, W of the mean feature map E_n[A_n], per channel"),
    "snr_pooled": ("sigma_pooled", "N, H, W per channel (images pooled)"),
    "snr_pooled_chw": ("sigma_pooled_chw", "N, C, H, W (everything pooled)"),
}
SNR_READINGS = tuple(SIGMAS)


def check_reading(reading: str) -> str:
    """``reading`` if it is an SNR reading; a ``ValueError`` naming the allowed ones if not."""
    if reading not in SIGMAS:
        raise ValueError(f"unknown SNR reading {reading!r}; allowed: {', '.join(SNR_READINGS)}")
    return reading


# Every scalar reading of a layer, as PPPResult fields and JSON keys (the readings table's columns).
READINGS = (
    "mae_ppp", *SNR_READINGS, "mae_rel", "signed_mae", "noise_floor",
    *(sigma for sigma, _ in SIGMAS.values() if sigma != "sigma"),
)
_MAPS = ("sum_abs", "sum_signed", "sum_sq", "sum_a", "sum_a2")
_PER_IMAGE = ("mae", "sigma", "sigma_chw", "sigma_chanmean", "mean_abs")


class _LayerState:
    def __init__(self) -> None:
        self.maps: dict[str, torch.Tensor] = {}
        self.per_image: dict[str, list[torch.Tensor]] = {k: [] for k in _PER_IMAGE}

    def add_maps(self, maps: Mapping[str, torch.Tensor]) -> None:
        for key, value in maps.items():
            held = self.maps.get(key)
            if held is not None and held.shape != value.shape:
                raise ValueError(f"cannot add maps {tuple(value.shape)} to {tuple(held.shape)}")
            self.maps[key] = value if held is None else held.add_(value.to(held.device))


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
            diff = torch.sub(o, a)
            signed = diff.sum(0, dtype=torch.float64)
            sq = diff.square().sum(0, dtype=torch.float64)
            diff.abs_()
            mae = diff.mean((1, 2, 3), dtype=torch.float64)
            if not torch.isfinite(mae).all():  # one small check catches NaN/Inf anywhere
                raise FloatingPointError(f"layer {name}: NaN or Inf in the features of this batch")
            a64 = a.double()
            state = self._layers.setdefault(name, _LayerState())
            state.add_maps({
                "sum_abs": diff.sum(0, dtype=torch.float64), "sum_signed": signed, "sum_sq": sq,
                "sum_a": a64.sum(0), "sum_a2": a64.square().sum(0),
            })
            per = state.per_image
            per["mae"].append(mae)
            per["sigma"].append(a64.std((2, 3), correction=0).mean(1))
            per["sigma_chw"].append(a64.std((1, 2, 3), correction=0))
            per["sigma_chanmean"].append(a64.mean(1).std((1, 2), correction=0))
            per["mean_abs"].append(a64.abs().mean((1, 2, 3)))

    def compute(self) -> dict[str, PPPResult]:
        if not self._layers:
            raise ValueError("no images were accumulated")
        return {name: _result(name, state) for name, state in self._layers.items()}

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        """Everything ``compute`` needs, as CPU tensors (to save or send between processes)."""
        return {
            name: {**{k: v.cpu() for k, v in s.maps.items()}, **{k: torch.cat(v).cpu() for k, v in s.per_image.items()}}
            for name, s in self._layers.items()
        }

    def merge(self, other: PPPAccumulator | Mapping[str, Mapping[str, torch.Tensor]]) -> PPPAccumulator:
        """Add another accumulator's images to this one (order: this one's first)."""
        states = other.state_dict() if isinstance(other, PPPAccumulator) else other
        for name, s in states.items():
            missing = [k for k in (*_MAPS, *_PER_IMAGE) if k not in s]
            if missing:
                raise ValueError(f"layer {name}: the state to merge lacks {', '.join(missing)}")
            state = self._layers.setdefault(name, _LayerState())
            try:  # copies: never alias the other's state
                state.add_maps({k: s[k].to(torch.float64, copy=True) for k in _MAPS})
            except ValueError as err:
                raise ValueError(f"layer {name}: {err}") from None
            for k in _PER_IMAGE:
                state.per_image[k].append(s[k])
        return self


def _result(name: str, state: _LayerState) -> PPPResult:
    per = {k: torch.cat(v).cpu().numpy() for k, v in state.per_image.items()}
    mae, sig = per["mae"], per["sigma"]
    n = len(mae)
    maps = {k: v.cpu() for k, v in state.maps.items()}
    counts = np.arange(1, n + 1)
    running_mae = np.cumsum(mae) / counts
    running_sigma = np.cumsum(sig) / counts
    mean_a, mean_a2 = maps["sum_a"] / n, maps["sum_a2"] / n
    sigmas = {
        "sigma": float(running_sigma[-1]),
        "sigma_chw": float(per["sigma_chw"].mean()),
        "sigma_chanmean": float(per["sigma_chanmean"].mean()),
        "sigma_meanmap": float(mean_a.std((1, 2), correction=0).mean()),
        # pooled: E[a^2] - E[a]^2 over (N, H, W) per channel, and over (N, C, H, W)
        "sigma_pooled": float((mean_a2.mean((1, 2)) - mean_a.mean((1, 2)).square()).clamp(min=0).sqrt().mean()),
        "sigma_pooled_chw": math.sqrt(max(float(mean_a2.mean()) - float(mean_a.mean()) ** 2, 0.0)),
    }
    mean_abs = float(per["mean_abs"].mean())
    ppp_map, signed_map = maps["sum_abs"] / n, maps["sum_signed"] / n
    mae_ppp = float(ppp_map.mean())
    zero = is_zero_ppp(mae_ppp, mean_abs)
    snrs = {reading: _snr(mae_ppp, sigmas[field], mean_abs, zero) for reading, (field, _) in SIGMAS.items()}
    degenerate = _degenerate(sigmas["sigma"], mean_abs)
    with np.errstate(divide="ignore", invalid="ignore"):
        running_snr = np.zeros(n) if zero else np.full(n, np.nan) if degenerate else running_mae / running_sigma
    if n > 1:  # per-element spread of O - A over the images, then E|mean| of zero-mean noise
        var = ((maps["sum_sq"] - n * signed_map.square()) / (n - 1)).clamp_(min=0)
        noise_floor = math.sqrt(2 / math.pi) * float((var / n).sqrt().mean())
    else:
        noise_floor = float("nan")
    return PPPResult(
        layer=name,
        ppp_map=ppp_map,
        mae_ppp=mae_ppp,
        sigma=sigmas["sigma"],
        mean_abs=mean_abs,
        n_images=n,
        stderr=float(mae.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
        running_mae=running_mae,
        running_snr=running_snr,
        degenerate=degenerate,
        signed_map=signed_map,
        signed_mae=float(signed_map.abs().mean()),
        noise_floor=noise_floor,
        mae_rel=_ratio(mae_ppp, mean_abs),
        zero_ppp=zero,
        **{k: v for k, v in sigmas.items() if k != "sigma"},
        **snrs,
    )


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
        raise ValueError(f"alignment big crop {alignment.big_size} is not the model's {exact.big_size} "
                         f"at {input_size} px")
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


def format_results(results: dict[str, PPPResult]) -> str:
    """A fixed-width table of the per-LoI scalars (what the CLI and the demo print)."""
    lines = [f"{'layer':<10}{'map':>14}{'MAE-PPP':>12}{'SNR-PPP':>12}{'sigma':>12}{'stderr':>12}{'N':>6}"]
    for name, r in results.items():
        snr = "degenerate" if r.degenerate else f"{r.snr_ppp:.4g}"
        shape = "x".join(map(str, r.ppp_map.shape))
        lines.append(f"{name:<10}{shape:>14}{r.mae_ppp:>12.4g}{snr:>12}{r.sigma:>12.4g}{r.stderr:>12.3g}{r.n_images:>6}")
    return "\n".join(lines)
