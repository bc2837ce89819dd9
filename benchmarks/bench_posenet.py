"""PosENet trial phase: the plain per-trial conv PEMs (tests/posenet_reference.py) vs the
contracted, batched PEMs of pppcore.repro.posenet.

Times ``run_trials`` (all ``posenet.trials`` PEMs: training and scoring) at config.yaml's
scale: its ``posenet`` section and each arch's ``train.archs`` width, features of random
images from a randomly initialised model (zeros padding), computed once outside the timing.
One thread, as a workflow job. After one untimed call of each (first-use costs: the reference
builds its concatenated 28 x 28 cache, which the former code built before ``run_trials``, and
its torch.optim.SGD imports torch._dynamo), ``--repeats`` alternating pairs (the order flips
every pair); median, min and max wall seconds, the median CPU seconds of this process and the
machine's load average at the end (on a busy machine wall time stretches, CPU time much less). \
The last columns: the largest differences of the
two paths' results over the trials (SPC and MAE absolute, training loss relative).

    python benchmarks/bench_posenet.py [--archs vgg19 resnet50 efficientnet_b0] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import torch
import yaml

from pppcore import build_model
from pppcore.repro.config import PosENetConfig
from pppcore.repro.posenet import FeatureCache, run_trials

from report_table import print_and_write  # benchmarks/ (the script's own folder)

ROOT = Path(__file__).resolve().parents[1]
BUILD_KEYS = ("batch_norm", "dropout", "squeeze_excitation", "stochastic_depth_prob", "init")  # build_model options


def reference_module():
    """tests/posenet_reference.py, the former implementation (not a package module)."""
    spec = importlib.util.spec_from_file_location("posenet_reference", ROOT / "tests" / "posenet_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def features(arch: str, entry: dict, cfg, seed: int) -> tuple[FeatureCache, FeatureCache]:
    model = build_model(arch, "zeros", num_classes=10, width=entry["width"], seed=seed,
                        **{k: entry[k] for k in BUILD_KEYS if k in entry})
    images = torch.rand(cfg.n_train + cfg.n_eval, 3, cfg.input_size, cfg.input_size,
                        generator=torch.Generator().manual_seed(seed))
    return (FeatureCache.from_model(model, images[: cfg.n_train], cfg),
            FeatureCache.from_model(model, images[cfg.n_train :], cfg))


def timed(fn, *args) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(arch: str, entry: dict, cfg, repeats: int, seed: int, reference) -> dict:
    train, evaluation = features(arch, entry, cfg, seed)
    paths = {"reference": reference.run_trials, "fast": run_trials}
    results = {name: fn(train, evaluation, cfg) for name, fn in paths.items()}  # warm-up, and the results compared
    times: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for i in range(repeats):
        for name in (("reference", "fast") if i % 2 == 0 else ("fast", "reference")):
            wall_s, cpu_s = timed(paths[name], train, evaluation, cfg)
            times[name].append(wall_s)
            cpu[name].append(cpu_s)
    ref, fast = results["reference"], results["fast"]
    med = {name: statistics.median(t) for name, t in times.items()}
    med_cpu = {name: statistics.median(t) for name, t in cpu.items()}
    return {
        "arch": arch, "width": entry["width"], "channels": train.channels, "trials": cfg.trials,
        "reference_s": round(med["reference"], 3), "fast_s": round(med["fast"], 3),
        "speedup": round(med["reference"] / med["fast"], 1),
        "reference_min_s": round(min(times["reference"]), 3), "reference_max_s": round(max(times["reference"]), 3),
        "fast_min_s": round(min(times["fast"]), 3), "fast_max_s": round(max(times["fast"]), 3),
        "reference_cpu_s": round(med_cpu["reference"], 3), "fast_cpu_s": round(med_cpu["fast"], 3),
        "speedup_cpu": round(med_cpu["reference"] / med_cpu["fast"], 1),
        "spc_abs_diff": f"{max(abs(r['spc'] - f['spc']) for r, f in zip(ref, fast, strict=True)):.1e}",
        "mae_abs_diff": f"{max(abs(r['mae'] - f['mae']) for r, f in zip(ref, fast, strict=True)):.1e}",
        "loss_rel_diff":
            f"{max(abs(f['train_loss'] / r['train_loss'] - 1) for r, f in zip(ref, fast, strict=True)):.1e}",
        # a busy machine stretches both columns
        "threads": torch.get_num_threads(), "load_1min": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["vgg19", "resnet50", "efficientnet_b0"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a posenet job has one core)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_posenet.csv")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg = PosENetConfig.from_config(config["posenet"])
    reference = reference_module()
    rows = []
    for arch in args.archs:
        rows.append(compare(arch, config["train"]["archs"][arch], cfg, args.repeats, args.seed, reference))
        print(rows[-1], flush=True)
    print_and_write(rows, args.out)


if __name__ == "__main__":
    main()
