"""Why the tiny VGGs train at lr 0.01 under ``init: pytorch_default``: the conv weights of
PyTorch's layer defaults against torchvision's re-init, and VGG19 (tiny config, zeros,
seed 0) trained at the tiny recipe's lr and at the per-arch lr of config.yaml.

Usage: python benchmarks/vgg_init_lr.py [--out CSV]   (about 1 min on 2 cores)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import yaml
from profile_jobs import ROOT

from pppcore import build_model
from pppcore.repro.config import TrainConfig
from pppcore.repro.grid import epoch_name
from pppcore.repro.train import train_job

from report_table import print_and_write


def conv_weight_std(init: str, entry: dict) -> float:
    """Mean over VGG19's convs of the weights' std under ``init``."""
    model = build_model("vgg19", "zeros", num_classes=10, width=entry["width"], batch_norm=entry["batch_norm"],
                        init=init)
    stds = [m.weight.std().item() for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    return sum(stds) / len(stds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vgg_init_lr.csv")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t = yaml.safe_load((ROOT / "config.yaml").read_text())["train"]
    entry = t["archs"]["vgg19"]
    recipe = {k: v for k, v in t.items() if k not in ("archs", "paddings", "seeds", "data")}
    ratio = conv_weight_std("torchvision", entry) / conv_weight_std("pytorch_default", entry)
    rows = []
    for lr in (recipe["lr"], entry["lr"]):
        rows += [{"init": entry["init"], "lr": lr, "epoch": r["epoch"], "val_acc": r["val_acc"],
                  "conv_std_torchvision_over_pytorch_default": round(ratio, 2)}
                 for r in tiny_training_log("vgg19", {**entry, "lr": lr})]
    print_and_write(rows, args.out)


def tiny_training_log(arch: str, entry: dict) -> list[dict]:
    """``arch`` (zeros, seed 0) trained with config.yaml's recipe and the arch entry ``entry``,
    validated every epoch (the learning curve); the training log's rows."""
    t = yaml.safe_load((ROOT / "config.yaml").read_text())["train"]
    recipe = {k: v for k, v in t.items() if k not in ("archs", "paddings", "seeds", "data")}
    recipe["validate"] = "every_epoch"
    cfg = TrainConfig.from_config(arch, "zeros", 0, entry, recipe, t["data"]["classification"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ckpts = [tmp / epoch_name(e, ".pt") for e in cfg.checkpoint_epochs()]
        return train_job(cfg, tmp / "state", ckpts, tmp / "log.csv")


if __name__ == "__main__":
    main()
