"""Where does a default-run job's time go? One training, extraction, PosENet and BHV job of
the default config, each run in-process with its phases timed *exclusively* (a phase's time
excludes the phases nested in it, so each job's rows add up to its wall time), plus the two
costs outside the job function: interpreter start-up with the job's imports, and Snakemake's
own cost per job (a workflow of trivial ``script:`` jobs).

Phases are module attributes wrapped with a timer for the run (nothing is changed on disk):
e.g. training: procedural image drawing (data), the training loop's own work (compute:
forward, backward, optimiser), validation passes, checkpoint writes (I/O). ``--cprofile``
also prints cProfile's top functions per job.

Usage: python benchmarks/profile_jobs.py [--run results] [--out CSV] [--cprofile]
       (--run: a finished default run, for the extraction and PosENet inputs)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import importlib
import inspect
import pstats
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from report_table import print_and_write

ROOT = Path(__file__).resolve().parents[1]


class PhaseTimer:
    """Exclusive wall time per phase; phases nest (a stack), so they partition the total."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[list] = []  # [phase, start, time spent in nested phases]

    @contextlib.contextmanager
    def phase(self, name: str):
        self._stack.append([name, time.perf_counter(), 0.0])
        try:
            yield
        finally:
            name, start, nested = self._stack.pop()
            spent = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + spent - nested
            if self._stack:
                self._stack[-1][2] += spent

    def wrap(self, phase: str, fn):
        if inspect.isgeneratorfunction(fn):  # time each step of the iteration, not its creation
            @functools.wraps(fn)
            def timed_gen(*args, **kwargs):
                it = fn(*args, **kwargs)
                while True:
                    with self.phase(phase):
                        try:
                            item = next(it)
                        except StopIteration:
                            return
                    yield item

            return timed_gen

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            with self.phase(phase):
                return fn(*args, **kwargs)

        return timed


@contextlib.contextmanager
def phases(timer: PhaseTimer, spec: dict[str, list[str]]):
    """Wrap ``module:attr`` (or ``module:Class.method``) targets per phase for the block."""
    undo = []
    for phase, targets in spec.items():
        for target in targets:
            module, attr = target.split(":")
            owner = importlib.import_module(module)
            *path, name = attr.split(".")
            for part in path:
                owner = getattr(owner, part)
            original = getattr(owner, name)
            setattr(owner, name, timer.wrap(phase, original))
            undo.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def count_flops(fn) -> float:
    """FLOPs of every torch op ``fn()`` runs (``torch.utils.flop_counter``; multiply-add = 2)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def startup_seconds(imports: str) -> float:
    """Wall time of a fresh interpreter importing ``imports`` (a job's start-up)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {imports}"], check=True)
    return time.perf_counter() - start


def snakemake_seconds_per_job(n: int = 8) -> float:
    """Snakemake's cost per ``script:`` job beyond the script's own interpreter start:
    ``n`` trivial script jobs on one core, minus a workflow with none of them."""
    with tempfile.TemporaryDirectory() as tmp:
        wf = Path(tmp)
        (wf / "noop.py").write_text("open(snakemake.output[0], 'w').close()\n")
        (wf / "Snakefile").write_text(textwrap.dedent(f"""\
            rule all:
                input: expand("out/{{i}}.txt", i=range({n}))
            rule one:
                output: "out/{{i}}.txt"
                script: "noop.py"
            rule none:
                output: "nothing.txt"
                shell: "touch {{output}}"
            """))
        def run(target: str) -> float:  # targets first: --quiet takes every word after it
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "snakemake", target, "--cores", "1", "--quiet", "rules"],
                           cwd=wf, check=True, capture_output=True)
            return time.perf_counter() - start

        base = run("nothing.txt")
        total = run("all")
        return (total - base) / n


def profile(name: str, job, spec: dict[str, list[str]], cprofile: bool) -> dict[str, float]:
    timer = PhaseTimer()
    prof = cProfile.Profile() if cprofile else None
    with phases(timer, spec):
        start = time.perf_counter()
        if prof:
            prof.enable()
        job()
        if prof:
            prof.disable()
        total = time.perf_counter() - start
    if prof:
        print(f"\n--- cProfile, {name} (top 15 by own time) ---")
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    timer.seconds["other"] = total - sum(timer.seconds.values())
    timer.seconds["total"] = total
    return timer.seconds


def default_jobs(run: Path, tmp: Path) -> dict[str, tuple]:
    """One job of each type of the default config: name -> (callable, phase spec). ``run``
    is a finished default run (a trained VGG19 checkpoint and the tiles); outputs go to ``tmp``."""
    from pppcore.ppp import extract_sizes
    from pppcore.repro.bhv import run_variant
    from pppcore.repro.config import BHVConfig, PosENetConfig, TrainConfig
    from pppcore.repro.grid import epoch_name
    from pppcore.repro.posenet import posenet_checkpoint
    from pppcore.repro.train import train_job

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    t = cfg["train"]
    recipe = {k: v for k, v in t.items() if k not in ("archs", "paddings", "seeds", "data")}
    ckpt = run / "train" / "vgg19" / "zeros" / "seed0" / f"epoch_{t['epochs']:03d}.pt"
    tiles = run / "tiles"
    if not ckpt.exists():
        raise SystemExit(f"{ckpt} not found: run the default workflow first (or pass --run)")
    sizes = list(dict.fromkeys(cfg["ppp"].get("input_sizes") or [224, t["image_size"]]))
    data_fns = ["pppcore.repro.data.procedural:ObjectShapes.__getitem__",
                "pppcore.repro.data.salient:SalientObjects.__getitem__"]
    train_cfg = TrainConfig.from_config("vgg19", "zeros", 0, t["archs"]["vgg19"], recipe, t["data"]["classification"])

    def train() -> None:
        state = tmp / "state"
        shutil.rmtree(state, ignore_errors=True)  # a fresh start every call
        train_job(train_cfg, state, [tmp / epoch_name(e, ".pt") for e in train_cfg.checkpoint_epochs()],
                  tmp / "log.csv")

    return {
        "train (vgg19, zeros)": (
            train,
            {"data": data_fns, "validation": ["pppcore.repro.train:validate"],
             "checkpoint I/O": ["pppcore.repro.train:save_checkpoint", "pppcore.repro.train:torch_save"],
             "training compute": ["pppcore.repro.train:_train_epoch"]}),
        "extraction (vgg19 zeros, last epoch)": (  # every measurement size, as the job (rules/common.smk: SIZES)
            lambda: extract_sizes(ckpt, tiles, [(s, tmp / f"p{s}.json", tmp / f"p{s}.npz") for s in sizes],
                                  max_images=cfg["ppp"]["max_images"], batch_size=cfg["ppp"]["batch_size"],
                                  progress=False),
            {"checkpoint load": ["pppcore.ppp:load_checkpoint"],
             "alignment": ["pppcore.ppp:align", "pppcore.metrics:align"],
             "image loading": ["pppcore.metrics:big_crops"],
             "forward + metric": ["pppcore.ppp:measure_ppp"], "results I/O": ["pppcore.ppp:save_results"]}),
        "posenet (vgg19 zeros, last epoch)": (
            lambda: posenet_checkpoint(ckpt, tiles, PosENetConfig.from_config(cfg["posenet"]), tmp / "pos.json"),
            {"checkpoint load": ["pppcore.checkpoint:load_checkpoint"],
             "image windows": ["pppcore.repro.posenet:crops"],
             "backbone features": ["pppcore.repro.posenet:FeatureCache.from_model"],
             "PEM trials": ["pppcore.repro.posenet:run_trials"]}),
        "bhv (zeros, F-Conv, black)": (
            lambda: run_variant("zeros", "full", "black", BHVConfig.from_config(cfg["bhv"]),
                                split=cfg["bhv"]["splits"][0]),
            {"data": ["pppcore.repro.bhv:make_splits"], "training": ["pppcore.repro.bhv:fit"],
             "test accuracy": ["pppcore.repro.bhv:loss_and_accuracy"],
             "trajectories": ["pppcore.repro.bhv:inconsistency"]}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=ROOT / "results", help="a finished default run (checkpoints, tiles)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "profile_jobs.csv")
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as a workflow job (threads: 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for job, (fn, spec) in default_jobs(args.run, Path(tmp)).items():
            print(f"profiling {job} ...", flush=True)
            seconds = profile(job, fn, spec, args.cprofile)
            rows += [{"job": job, "phase": p, "seconds": round(s, 2), "share": round(s / seconds["total"], 3)}
                     for p, s in seconds.items()]
    start = startup_seconds("torch, pppcore, pppcore.repro.train, pppcore.repro.posenet, pppcore.repro.bhv")
    per_job = snakemake_seconds_per_job()
    rows.append({"job": "every job", "phase": "interpreter start-up + imports", "seconds": round(start, 2),
                 "share": ""})
    rows.append({"job": "every job", "phase": "Snakemake scheduling and script wrapping", "seconds": round(per_job, 2),
                 "share": ""})
    print_and_write(rows, args.out)


if __name__ == "__main__":
    main()
