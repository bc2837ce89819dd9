"""Benchmark of pppcore.repro.data.synthetic_tiles: seconds per mosaic at several sizes.

The offline stand-in for downloaded tiles must not dominate a workflow run: target 8 mosaics
of 512 px in under 5 s on one CPU core (the bound test_synthetic_tiles once asserted; a
wall-clock limit belongs here, not in a test). For each size, the best of ``--repeats`` runs
generating ``--images`` mosaics, with torch on ``--threads`` threads (numpy as it comes).
Prints a table and writes CSV (default benchmarks/results/bench_synthetic_tiles.csv).

    python benchmarks/bench_synthetic_tiles.py [--sizes 128 256 512] [--images 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from pppcore.repro.data.synthetic_tiles import synthetic_mosaics

from report_table import print_and_write  # benchmarks/ (the script's own folder)

TARGET = (512, 8, 5.0)  # size, mosaics, seconds


def timing(size: int, n: int, seed: int, repeats: int) -> dict:
    next(synthetic_mosaics(1, size, seed=seed))  # warm-up: imports, first allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in synthetic_mosaics(n, size, seed=seed):
            pass
        times.append(time.perf_counter() - start)
    best = min(times)
    row = {
        "size": size,
        "images": n,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "best_s": round(best, 3),
        "median_s": round(sorted(times)[len(times) // 2], 3),
        "ms_per_mosaic": round(1000 * best / n, 1),
        "mpix_per_s": round(n * size * size / best / 1e6, 2),
    }
    if size == TARGET[0]:
        row["target_s"] = round(TARGET[2] * n / TARGET[1], 3)  # the target, scaled to this many mosaics
        row["meets_target"] = best <= row["target_s"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--images", type=int, default=8, help="mosaics per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the workflow's tiles job has one core)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for size in args.sizes:
        row = {"python": platform.python_version(), **timing(size, args.images, args.seed, args.repeats)}
        rows.append(row)
        print(row, flush=True)
    print_and_write(rows, args.out or Path(__file__).parent / "results" / "bench_synthetic_tiles.csv")


if __name__ == "__main__":
    main()
