"""Benchmark of pppcore.convert on the issue's ten torchvision CNNs (random init, zeros padding).

Per model:
  (a) convert_s: tracing + the three probe runs; align_s: the big-crop search at 224 px;
  (b) overhead = time(measure_ppp) / time(the bare regular + twin tap forwards on the same
      crops), at --input-size px over --images images -- target <= 1.10, as for the built-in
      models (benchmarks/bench_ppp.py): best of the repeats each, and overhead_median = the
      median ratio of the alternating pairs (robust where one lucky bare pass skews the best).
DenseNet-121 runs at a quarter of its growth rate (same layers and geometry; its padless twin
needs a 2,135-px crop at 96 px and full width takes minutes per pass on a 2-core CPU).
Prints a table and writes CSV (default benchmarks/results/bench_conversion_<device>.csv).

    python benchmarks/bench_conversion.py [--input-size 64] [--images 8] [--models resnet18 ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torchvision import models as tvm

from pppcore import align, convert, make_twin, measure_ppp
from pppcore.images import center_crop, normalize
from pppcore.metrics import paired_features
from pppcore.models.base import calibrate_batchnorm
from pppcore.repro.data.synthetic import synthetic_images
from pppcore.runtime import tune_malloc

from report_table import print_and_write  # benchmarks/ (the script's own folder)

MODELS = ("resnet18", "resnet50", "vgg19_bn", "efficientnet_b0", "mobilenet_v3_small", "regnet_y_400mf",
          "convnext_tiny", "densenet121", "shufflenet_v2_x1_0", "googlenet")


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "densenet121":
        return tvm.DenseNet(growth_rate=8, block_config=(6, 12, 24, 16), num_init_features=16)
    if name == "googlenet":
        return tvm.googlenet(weights=None, aux_logits=False, init_weights=True)
    return getattr(tvm, name)(weights=None)


def timed_pair(first, second, repeats: int) -> tuple[list[float], list[float]]:
    """Wall times of two callables over ``repeats`` rounds, run alternately so that drift of
    a noisy machine (other load, allocator state) reaches both alike."""
    first(), second()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return times


def bench(name: str, size: int, n: int, batch: int, repeats: int, device: torch.device) -> dict:
    source = build(name).eval()
    start = time.perf_counter()
    model = convert(source, "zeros", arch=name)
    convert_s = time.perf_counter() - start
    start = time.perf_counter()
    at224 = align(model, 224)
    align_s = time.perf_counter() - start
    calibrate_batchnorm(model, [torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(0))])
    model = model.to(device)
    alignment = align(model, size)
    twin = make_twin(model, alignment).eval()
    images = synthetic_images(n, max(alignment.big_size), seed=0)
    batches = [normalize(torch.stack([center_crop(im, alignment.big_size, "")
                                      for im in images[i : i + batch]])).to(device)
               for i in range(0, n, batch)]

    def bare() -> None:
        with torch.no_grad():
            for big in batches:
                paired_features(model, twin, alignment, big)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def full() -> None:
        measure_ppp(model, images, size, device=device, batch_size=batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    bare_t, measure_t = timed_pair(bare, full, repeats)
    bare_s, measure_s = min(bare_t), min(measure_t)
    paired = statistics.median(m / b for b, m in zip(bare_t, measure_t, strict=True))
    return {
        "model": name, "device": str(device), "taps": len(model.loi), "nodes": len(model.plan.kind),
        "convert_s": round(convert_s, 3), "align224_s": round(align_s, 3), "big_crop_224": at224.big_size[0],
        "input_size": size, "big_crop": alignment.big_size[0], "images": n,
        "bare_s": round(bare_s, 3), "measure_s": round(measure_s, 3), "overhead": round(measure_s / bare_s, 3),
        "overhead_median": round(paired, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    tune_malloc()
    device = torch.device(args.device)
    rows = []
    for name in args.models:
        rows.append(bench(name, args.input_size, args.images, args.batch_size, args.repeats, device))
        print(rows[-1], flush=True)
    print_and_write(rows, args.out or Path(__file__).parent / "results" / f"bench_conversion_{device.type}.csv")


if __name__ == "__main__":
    main()
