"""Why the tiny EfficientNet-B0 starts from PyTorch's layer defaults: EfficientNet-B0 (tiny
config, zeros, seed 0) trained with the tiny recipe under both inits and two learning
rates, validated every epoch. With torchvision's init (kaiming fan-out convs) it stays near
chance for the tiny recipe's 4 epochs; config.yaml uses the init and lr that learn.

Usage: python benchmarks/efficientnet_init_lr.py [--out CSV]   (about 3 min on 2 cores)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml
from profile_jobs import ROOT
from vgg_init_lr import tiny_training_log

from report_table import print_and_write


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "efficientnet_init_lr.csv")
    args = ap.parse_args()
    torch.set_num_threads(2)
    entry = yaml.safe_load((ROOT / "config.yaml").read_text())["train"]["archs"]["efficientnet_b0"]
    entry = {k: v for k, v in entry.items() if k != "paddings"}
    rows = []
    for init in ("torchvision", "pytorch_default"):
        for lr in (0.01, 0.05):
            log = tiny_training_log("efficientnet_b0", {**entry, "init": init, "lr": lr})
            rows += [{"init": init, "lr": lr, "epoch": r["epoch"], "val_acc": r["val_acc"],
                      "chosen": init == entry["init"] and lr == (entry.get("lr") or 0.05)}
                     for r in log]
    print_and_write(rows, args.out)


if __name__ == "__main__":
    main()
