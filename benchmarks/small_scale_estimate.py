"""How long does ``config/small.yaml`` take on one GPU? FLOPs counted, CPU rates measured,
GPU time estimated (no GPU was at hand when this was written: say so wherever it is quoted).

Per job type (train, extraction, PosENet, BHV) and arch: forward FLOPs per image counted with
``torch.utils.flop_counter`` on the configured models, times the images each job pushes
through (training: 3 x forward for forward + backward, plus one validation pass per epoch;
extraction: the padded model at ``ppp.input_size`` plus its twin on the big crop; PosENet:
one backbone forward per window, features cached). The CPU rate is measured here (a
training step per arch); the GPU estimate divides the FLOPs by an *assumed* achieved rate
(``--gpu-tflops``, ``--gpu-tflops-depthwise`` for EfficientNet) and adds each job's start-up
(measured here: interpreter + torch + pppcore import, plus ``--cuda-init`` seconds) spread
over ``--concurrent`` jobs sharing the GPU, and the procedural data's CPU time (measured
here) spread over ``--cpu-cores``.

Usage: python benchmarks/small_scale_estimate.py [--config config/small.yaml] [--out CSV]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml
from profile_jobs import count_flops, startup_seconds
from snakemake.utils import update_config

from pppcore import align, build_model
from pppcore.alignment import input_size_for
from pppcore.repro.bhv import BHVNet
from pppcore.repro.config import with_defaults
from pppcore.repro.data.procedural import ObjectShapes
from pppcore.repro.data.salient import SalientObjects
from pppcore.repro.grid import checkpoint_epochs

from report_table import print_and_write

ROOT = Path(__file__).resolve().parents[1]


def merged_config(path: Path) -> dict:
    """config.yaml updated key by key with ``path``, by Snakemake's own merge (as ``--configfile``)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    update_config(config, yaml.safe_load(path.read_text()))
    return config


def forward_flops(model: torch.nn.Module, size: int) -> float:
    """FLOPs of one image's forward at ``size`` px (multiply-add = 2 FLOPs)."""
    x = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        return count_flops(lambda: model(x))


def cpu_train_rate(model: torch.nn.Module, size: int, batch: int = 8, steps: int = 2) -> float:
    """Achieved GFLOP/s of forward + backward on this CPU (counted FLOPs / wall time)."""
    x = torch.randn(batch, 3, size, size)
    model.train()
    flops = count_flops(lambda: model(x).float().mean().backward())
    start = time.perf_counter()
    for _ in range(steps):
        model.zero_grad()
        model(x).float().mean().backward()
    return flops * steps / (time.perf_counter() - start) / 1e9


def data_seconds_per_image(task: str, size: int, n: int = 64) -> float:
    ds = (ObjectShapes if task == "classification" else SalientObjects)(n, size, seed=0)
    start = time.perf_counter()
    for i in range(n):
        ds[i]
    return (time.perf_counter() - start) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "small.yaml")
    ap.add_argument("--gpu-tflops", type=float, default=40.0,
                    help="assumed achieved TFLOP/s, dense convs (H200: ~8 %% of its TF32 peak)")
    ap.add_argument("--gpu-tflops-depthwise", type=float, default=8.0,
                    help="assumed achieved TFLOP/s, EfficientNet (depthwise, SE)")
    ap.add_argument("--cuda-init", type=float, default=3.0, help="seconds of CUDA context start per job (assumed)")
    ap.add_argument("--concurrent", type=int, default=12, help="jobs sharing the GPU at once")
    ap.add_argument("--cpu-cores", type=int, default=16)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "small_scale_estimate.csv")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)

    cfg = merged_config(args.config)
    train, ppp, pos, bhv = (with_defaults(cfg.get(k), k) for k in ("train", "ppp", "posenet", "bhv"))
    archs = cfg["train"]["archs"]
    seeds, epochs = len(train["seeds"]), train["epochs"]
    checkpoints = len(checkpoint_epochs(epochs, train["ckpt_every"]))
    start = startup_seconds("torch, pppcore, pppcore.repro.train")
    rows, totals = [], {"gpu_s": 0.0, "jobs": 0, "data_cpu_s": 0.0, "cpu_s": 0.0}
    for arch, entry in archs.items():
        task = entry.get("task", "classification")
        kwargs = {k: entry[k] for k in ("width", "batch_norm", "task") if k in entry}
        paddings = [p for p in train["paddings"] if entry.get("paddings") is None or p in entry["paddings"]]
        rate_gpu = (args.gpu_tflops_depthwise if arch == "efficientnet_b0" else args.gpu_tflops) * 1e12
        model = build_model(arch, "zeros", num_classes=10, **kwargs)
        rate_cpu = cpu_train_rate(model, train["image_size"])
        per_image_data = data_seconds_per_image(task, train["image_size"])
        for padding in paddings:
            m = build_model(arch, padding, num_classes=10, **kwargs).eval()
            size = input_size_for(m, train["image_size"])
            f_train = forward_flops(m, size)
            train_flops = (3 * train["n_train"] + train["n_val"]) * epochs * f_train
            f_in = forward_flops(m, input_size_for(m, ppp["input_size"]))
            f_ppp = f_in + (f_in if padding == "none" else forward_flops(m, max(align(m, ppp["input_size"]).big_size)))
            ppp_flops = ppp["max_images"] * f_ppp * checkpoints
            # x 2: init, trained
            pos_flops = (pos["n_train"] + pos["n_eval"]) * forward_flops(m, input_size_for(m, pos["input_size"])) * 2
            jobs = 1 + checkpoints + 2
            flops = (train_flops + ppp_flops + pos_flops) * seeds
            data_s = per_image_data * train["n_train"] * epochs * seeds  # drawn at the training size
            row = {
                "arch": arch, "padding": padding, "train_px": size, "fwd_gflop": round(f_train / 1e9, 3),
                "train_tflop": round(train_flops * seeds / 1e12, 1), "ppp_tflop": round(ppp_flops * seeds / 1e12, 2),
                "posenet_tflop": round(pos_flops * seeds / 1e12, 2), "cpu_gflops": round(rate_cpu, 1),
                "cpu_hours": round(flops / (rate_cpu * 1e9) / 3600, 1), "gpu_s": round(flops / rate_gpu, 1),
                "jobs": jobs * seeds, "data_cpu_s": round(data_s, 1),
            }
            rows.append(row)
            for k in ("gpu_s", "jobs", "data_cpu_s"):
                totals[k] += row[k]
            totals["cpu_s"] += flops / (rate_cpu * 1e9)
    nets = 2 * (len([p for p in bhv["paddings"] if p != "none"]) * len(bhv["conv_types"]) + ("none" in bhv["paddings"]))
    f_bhv = forward_flops(BHVNet("zeros", "same"), 32)
    bhv_flops = nets * len(bhv["splits"]) * bhv["trials"] * f_bhv * (3 * bhv["n_train"] + bhv["n_val"]) * bhv["epochs"]
    bhv_jobs = nets // 2 * len(bhv["splits"])
    rows.append({"arch": "bhv", "padding": "all", "train_tflop": round(bhv_flops / 1e12, 2),
                 "gpu_s": round(bhv_flops / (args.gpu_tflops * 1e12), 1), "jobs": bhv_jobs})
    totals["gpu_s"] += bhv_flops / (args.gpu_tflops * 1e12)
    totals["jobs"] += bhv_jobs
    overhead = totals["jobs"] * (start + args.cuda_init) / args.concurrent
    data = totals["data_cpu_s"] / args.cpu_cores
    wall = max(totals["gpu_s"], data) + overhead
    rows.append({"arch": "TOTAL", "padding": "", "gpu_s": round(totals["gpu_s"], 1), "jobs": totals["jobs"],
                 "data_cpu_s": round(totals["data_cpu_s"], 1), "cpu_hours": round(totals["cpu_s"] / 3600, 1),
                 "startup_s_per_job": round(start, 2), "overhead_s": round(overhead, 1),
                 "estimated_gpu_wall_min": round(wall / 60, 1)})
    print_and_write(rows, args.out)
    print(f"\nEstimated wall on one GPU: {wall / 60:.1f} min = "
          f"max(GPU compute {totals['gpu_s']:.0f} s, procedural data "
          f"{data:.0f} s on {args.cpu_cores} cores) + start-up {overhead:.0f} s ({totals['jobs']} jobs x "
          f"{start + args.cuda_init:.1f} s / {args.concurrent} at once). Assumed GPU rates: {args.gpu_tflops:g} / "
          f"{args.gpu_tflops_depthwise:g} TFLOP/s (dense / depthwise); nothing here ran on a GPU.")


if __name__ == "__main__":
    main()
