"""What the ``none`` trainings spend on resizing their images, and what ``Resized``'s cache saves.

A ``none`` VGG of the tiny run trains on its 64 px images resized to 268 px (its smallest valid
input). The base sets are fixed per index, so every epoch redoes the same resize unless the
resized items are kept. Times, at one thread (a workflow job's), the data passes of one such
run (``train.epochs`` over ``train.n_train`` images, plus the validation set at each
checkpoint) through ``Resized`` with and without its cache, and one batch resized per item
against at once (the same numbers either way).

Usage: python benchmarks/resize_cache.py [--out CSV]   (about a minute)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from profile_jobs import ROOT

from pppcore.repro.data.procedural import ObjectShapes
from pppcore.repro.data.resized import Resized

from report_table import print_and_write

SIZE = 268  # VGG19's / VGG16's smallest input without padding


def passes_seconds(data: Resized, passes: int) -> float:
    start = time.perf_counter()
    for _ in range(passes):
        for i in range(len(data)):
            data[i]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "resize_cache.csv"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = yaml.safe_load((ROOT / "config.yaml").read_text())["train"]
    checkpoints = len({0, train["epochs"], *range(train["ckpt_every"], train["epochs"] + 1, train["ckpt_every"])})
    base_train = ObjectShapes(train["n_train"], train["image_size"], 10, seed=0)
    base_val = ObjectShapes(train["n_val"], train["image_size"], 10, seed=1)
    rows = []
    for label, cache_bytes in (("per item, every epoch", 0), ("cached (default)", 2 << 30)):
        seconds = passes_seconds(Resized(base_train, SIZE, cache_bytes), train["epochs"])
        seconds += passes_seconds(Resized(base_val, SIZE, cache_bytes), checkpoints)
        rows.append({"resize": label, "seconds_per_none_run": round(seconds, 2)})
    rows[1]["saved_per_none_run_s"] = round(rows[0]["seconds_per_none_run"] - rows[1]["seconds_per_none_run"], 2)
    batch = base_train.images[: train["batch_size"]]
    resize = lambda x: F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False, antialias=True)  # noqa: E731
    start = time.perf_counter()
    per_item = torch.cat([resize(x[None]) for x in batch])
    middle = time.perf_counter()
    at_once = resize(batch)
    end = time.perf_counter()
    rows.append({"resize": f"one batch of {len(batch)}, per item", "seconds_per_none_run": "",
                 "batch_s": round(middle - start, 4),
                 "bit_identical": bool(torch.equal(per_item, at_once))})
    rows.append({"resize": f"one batch of {len(batch)}, at once", "seconds_per_none_run": "",
                 "batch_s": round(end - middle, 4),
                 "bit_identical": bool(torch.equal(per_item, at_once))})
    print_and_write(rows, Path(args.out))


if __name__ == "__main__":
    main()
