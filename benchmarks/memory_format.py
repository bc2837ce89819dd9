"""Training step time of the tiny models in the two tensor layouts (``train.memory_format``).

One SGD step (forward, backward, update) on a batch of the tiny recipe, one thread as a
workflow job, timed in the same run for both layouts: ``contiguous`` (NCHW) and
``channels_last`` (NHWC). Models as config.yaml builds them; ``none`` at its smallest input.

Usage: python benchmarks/memory_format.py [--out CSV]   (about 2 min)
"""

from __future__ import annotations

import argparse
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

CASES = (("vgg19", "zeros"), ("vgg19", "randn"), ("vgg19", "none"), ("resnet50", "zeros"), ("efficientnet_b0", "zeros"), ("vgg16", "zeros"))


def step_seconds(arch: str, padding: str, entry: dict, size: int, batch: int, memory_format: str, steps: int) -> float:
    """Mean seconds of one training step after two warm-up steps (classification head for all)."""
    fmt = MEMORY_FORMATS[memory_format]
    options = {k: v for k, v in entry.items() if k not in ("width", "task", "paddings", "lr", "zero_init_residual", "init_weights")}
    model = build_model(arch, padding, 10, entry["width"], seed=0, **options).to(memory_format=fmt)
    size = input_size_for(model, size)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0)).to(memory_format=fmt)
    y = torch.arange(batch) % 10
    for i in range(2 + steps):
        if i == 2:
            tic = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - tic) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "memory_format.csv")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t = yaml.safe_load((ROOT / "config.yaml").read_text())["train"]
    rows = []
    for arch, padding in CASES:
        entry = t["archs"][arch]
        steps = 3 if padding == "none" else 10
        s = {f: step_seconds(arch, padding, entry, t["image_size"], t["batch_size"], f, steps) for f in MEMORY_FORMATS}
        rows.append({"arch": arch, "padding": padding, "contiguous_ms": round(1000 * s["contiguous"], 1),
                     "channels_last_ms": round(1000 * s["channels_last"], 1), "speedup": round(s["contiguous"] / s["channels_last"], 2)})
    print_and_write(rows, args.out)


if __name__ == "__main__":
    main()
