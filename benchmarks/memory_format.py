"""Training step time of the tiny models in the two tensor layouts (``train.memory_format``).

One SGD step (forward, backward, update) on a batch of the tiny recipe, one thread as a
workflow job, timed in the same run for both layouts, ``contiguous`` (NCHW) and ``channels_last``
(NHWC): median of 3 alternating timings, in process CPU time. Models as config.yaml builds
them; ``none`` at its smallest input.
The pads keep their input's layout (old against new pads: benchmarks/padding_format.py).

Usage: python benchmarks/memory_format.py [--out CSV]   (about 2 min)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from profile_jobs import ROOT

from pppcore import build_model
from pppcore.alignment import input_size_for
from pppcore.repro.train import MEMORY_FORMATS

from report_table import print_and_write

CASES = (("vgg19", "zeros"), ("vgg19", "randn"), ("vgg19", "none"), ("resnet50", "zeros"), ("efficientnet_b0", "zeros"),
         ("efficientnet_b0", "circular"), ("vgg16", "zeros"))


def setup(arch: str, padding: str, entry: dict, size: int, batch: int, memory_format: str):
    """(model, optimizer, batch, labels) in ``memory_format`` (classification head for all), warmed up by two steps."""
    fmt = MEMORY_FORMATS[memory_format]
    options = {k: v for k, v in entry.items()
               if k not in ("width", "task", "paddings", "lr", "zero_init_residual", "init_weights")}
    model = build_model(arch, padding, 10, entry["width"], seed=0, **options).to(memory_format=fmt)
    size = input_size_for(model, size)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0)).to(memory_format=fmt)
    job = (model, opt, x, torch.arange(batch) % 10)
    step_seconds(*job, 2)
    return job


def step_seconds(model, opt, x, y, steps: int) -> float:
    """Mean process CPU seconds of one training step over ``steps`` steps (other jobs on the machine \
disturb it less than wall time)."""
    tic = time.process_time()
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss {loss.item()}")
    return (time.process_time() - tic) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "memory_format.csv")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t = yaml.safe_load((ROOT / "config.yaml").read_text())["train"]
    rows = []
    for arch, padding in CASES:
        jobs = {f: setup(arch, padding, t["archs"][arch], t["image_size"], t["batch_size"], f) for f in MEMORY_FORMATS}
        steps = 2 if padding == "none" else 4
        times: dict[str, list[float]] = {f: [] for f in MEMORY_FORMATS}
        for i in range(args.repeats):  # the layouts in alternating order
            for f in list(MEMORY_FORMATS)[:: 1 if i % 2 == 0 else -1]:
                times[f].append(step_seconds(*jobs[f], steps))
        s = {f: statistics.median(v) for f, v in times.items()}
        rows.append({"arch": arch, "padding": padding, "contiguous_ms": round(1000 * s["contiguous"], 1),
                     "channels_last_ms": round(1000 * s["channels_last"], 1),
                     "speedup": round(s["contiguous"] / s["channels_last"], 2)})
        print(rows[-1], flush=True)
    print_and_write(rows, args.out)


if __name__ == "__main__":
    main()
