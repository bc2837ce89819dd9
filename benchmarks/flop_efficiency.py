"""How fast is "fast"? Achieved GFLOP/s of each default-run job type against this machine's
measured peak, in one run (so the ratio is what the machines' noise leaves alone).

For each job of :func:`profile_jobs.default_jobs` (one training, extraction, PosENet and
BHV job of the default config, one thread as in the workflow): its FLOPs counted with
``torch.utils.flop_counter`` over the whole job (a first, counted run), its wall time (a
second, uncounted run), and two ratios: against a 3 x 3 conv microbenchmark and against a
matmul microbenchmark of the same thread count (the best of a few shapes each). The
job's rate includes everything it does besides FLOPs (data, Python, I/O) but not the
interpreter start-up, which ``profile_jobs.py`` reports separately.

Usage: python benchmarks/flop_efficiency.py [--run results] [--out CSV]   (+ a PNG beside it)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from profile_jobs import ROOT, count_flops, default_jobs

from report_table import print_and_write


def _best_rate(fn, flops: float, repeats: int = 5) -> float:
    fn()  # warm-up
    best = min(_timed(fn) for _ in range(repeats))
    return flops / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def conv_peak() -> tuple[float, str]:
    """Best GFLOP/s of a forward 3 x 3 conv over shapes like the tiny models' (batch 32)."""
    best = (0.0, "")
    for c, size in ((32, 32), (64, 16), (128, 8), (64, 32)):
        x, w = torch.randn(32, c, size, size), torch.randn(c, c, 3, 3)
        flops = 2 * 32 * c * c * 9 * size * size
        rate = _best_rate(lambda x=x, w=w: F.conv2d(x, w, padding=1), flops)
        best = max(best, (rate, f"conv3x3 {c}ch {size}px b32"))
    return best


def matmul_peak() -> tuple[float, str]:
    best = (0.0, "")
    for n in (256, 512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        best = max(best, (_best_rate(lambda a=a, b=b: a @ b, 2 * n**3), f"matmul {n}"))
    return best


def plot(rows: list[dict], peak: float, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.subplots()
    jobs = [r["job"] for r in rows]
    ax.barh(jobs, [r["gflops"] for r in rows], color="#4c72b0")
    ax.axvline(peak, color="#c44e52", linestyle="--", label=f"conv peak {peak:.0f} GFLOP/s (1 thread)")
    for i, r in enumerate(rows):
        ax.text(r["gflops"], i, f" {r['of_conv_peak']:.0%}", va="center", fontsize=8)
    ax.set_xlabel("achieved GFLOP/s (counted FLOPs / job wall time)")
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=ROOT / "results", help="a finished default run (checkpoints, tiles)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "flop_efficiency.csv")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as a workflow job
    conv, conv_shape = conv_peak()
    mm, mm_shape = matmul_peak()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for job, (fn, _) in default_jobs(args.run, Path(tmp)).items():
            print(f"{job}: counting ...", flush=True)
            flops = count_flops(fn)
            print(f"{job}: timing ...", flush=True)
            seconds = _timed(fn)
            rate = flops / seconds / 1e9
            rows.append({"job": job, "gflop": round(flops / 1e9, 1), "seconds": round(seconds, 2),
                         "gflops": round(rate, 2), "of_conv_peak": round(rate / conv, 3),
                         "of_matmul_peak": round(rate / mm, 3)})
    for r in rows:
        r.update(conv_peak_gflops=round(conv, 1), conv_peak_shape=conv_shape, matmul_peak_gflops=round(mm, 1),
                 matmul_peak_shape=mm_shape)
    print_and_write(rows, args.out)
    plot(rows, conv, args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
