"""Benchmark of pppcore.measure_ppp: overhead, memory growth and throughput.

For each architecture at a CPU-size width (random init, zeros padding):
  (a) overhead = time(measure_ppp) / time(the bare regular + twin forwards on the same
      crops)  -- target <= 1.10;
  (b) peak RSS of a fresh process measuring N = 32, 128, 512 streamed images -- target:
      flat within 10 % (O(1) memory in N);
  (c) images/s of measure_ppp on CPU, and on CUDA when a GPU is present.
Prints a table and writes CSV (default benchmarks/results/bench_ppp_<device>.csv).

    python benchmarks/bench_ppp.py [--input-size 64] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from pppcore import align, build_model, make_twin, measure_ppp
from pppcore.images import center_crop, normalize
from pppcore.metrics import paired_features
from pppcore.repro.data.synthetic import iter_synthetic_images, synthetic_images
from pppcore.runtime import tune_malloc

from report_table import print_and_write  # benchmarks/ (the script's own folder)

WIDTHS = {"vgg19": 0.125, "resnet50": 0.25, "efficientnet_b0": 0.25}
MEMORY_NS = (32, 128, 512)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timing(arch: str, size: int, n: int, batch: int, device: torch.device, repeats: int) -> dict:
    model = build_model(arch, "zeros", num_classes=10, width=WIDTHS[arch]).to(device).eval()
    alignment = align(model, size)
    twin = make_twin(model, alignment).eval()
    images = synthetic_images(n, max(alignment.big_size), seed=0)
    batches = [
        normalize(torch.stack([center_crop(img, alignment.big_size, "") for img in images[i : i + batch]]).to(device))
        for i in range(0, n, batch)
    ]

    def bare() -> None:
        with torch.no_grad():
            for big in batches:
                paired_features(model, twin, alignment, big)
        sync(device)

    def full() -> None:
        measure_ppp(model, images, size, device=device, batch_size=batch)
        sync(device)

    best = {}
    for label, fn in (("bare", bare), ("measure", full)):
        fn()  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        best[label] = min(times)
    return {
        "arch": arch,
        "width": WIDTHS[arch],
        "device": str(device),
        "input_size": size,
        "big_crop": alignment.big_size[0],
        "images": n,
        "bare_s": round(best["bare"], 3),
        "measure_s": round(best["measure"], 3),
        "overhead": round(best["measure"] / best["bare"], 3),
        "images_per_s": round(n / best["measure"], 1),
    }


def memory_probe(arch: str, size: int, n: int, batch: int) -> float:
    """Peak RSS (MiB) of this process after measuring ``n`` lazily generated images."""
    model = build_model(arch, "zeros", num_classes=10, width=WIDTHS[arch]).eval()
    big = max(align(model, size).big_size)
    measure_ppp(model, iter_synthetic_images(n, big, seed=0), size, batch_size=batch)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(arch: str, size: int, batch: int, ns: tuple[int, ...]) -> dict:
    peaks = {}
    for n in ns:
        cmd = [sys.executable, __file__, "--probe", arch, str(n), "--input-size", str(size), "--batch-size", str(batch)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        peaks[n] = json.loads(out.strip().splitlines()[-1])["peak_mib"]
    growth = max(peaks.values()) / min(peaks.values()) - 1
    return {**{f"peak_mib_n{n}": round(p, 1) for n, p in peaks.items()}, "memory_growth": round(growth, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--images", type=int, default=32, help="images for the timing runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="memory at N = 8, 32 only (smoke run)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--probe", nargs=2, metavar=("ARCH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    tune_malloc()  # as the CLI does; applies to the bare forwards and measure_ppp alike
    torch.manual_seed(0)
    if args.probe:
        arch, n = args.probe
        print(json.dumps({"peak_mib": memory_probe(arch, args.input_size, int(n), args.batch_size)}))
        return
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    ns = (8, 32) if args.quick else MEMORY_NS
    rows = []
    for device in devices:
        for arch in WIDTHS:
            row = timing(arch, args.input_size, args.images, args.batch_size, device, args.repeats)
            if device.type == "cpu":
                row.update(memory(arch, args.input_size, args.batch_size, ns))
            rows.append(row)
            print(row, flush=True)
    tag = "cuda" if len(devices) > 1 else "cpu"
    print_and_write(rows, args.out or Path(__file__).parent / "results" / f"bench_ppp_{tag}.csv")


if __name__ == "__main__":
    main()
