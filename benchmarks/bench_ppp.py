"""Cost of the PPP measurement over the two bare forwards it needs, under an extraction job's conditions.

Conditions are those of the workflow's ``ppp`` job (rules/ppp.smk): one torch
thread and glibc malloc tuned (:func:`pppcore.runtime.prepare_job`), CPU, ``--size`` px
(default 224, the primary measurement size), ``ppp.max_images`` images in batches of
``ppp.batch_size`` (config.yaml), read from PNG files: seeded synthetic mosaics
(:func:`write_synthetic_mosaics`, the tiles of ``tiles.source: synthetic``) written to a
temporary folder, ``tiles.size`` px or the largest big crop if that is larger. The models are
config.yaml's ``train.archs`` VGG19, ResNet50 and EfficientNet-B0 (their widths and build
options, zeros padding, random init: the cost does not depend on the weights' values).

Per arch, timed in alternating pairs (measure first in even pairs, bare first in odd ones, after
one warm-up of each) so that a change in the machine's load hits both sides of a pair alike:

  (a) measure: :func:`pppcore.ppp.measure_folder` over the PNG folder, as the job calls it
      (loading and cropping the images, ``align`` + ``make_twin``, both forwards, the
      accumulator, ``compute``; no file output);
  (b) bare: what any measurement must do: read the same PNGs into the same big crops
      (normalised), then the two forwards: the padded model on the regular crop and its
      padding-free twin on the big crop, each up to the last LoI (``model.features``), under
      ``no_grad``. So ``measure`` - ``bare`` is the metric's own cost (alignment, twin, accumulator).

Reported: the median of each with its min and max over the pairs, ``ratio`` = the median of the
pairs' measure / bare with its min and max (budget: <= 1.10), ``fixed_ms`` = one call's
``align`` + ``make_twin`` (median of as many calls as pairs; included in ``measure``), ``load_s`` =
reading and cropping the images alone (median; included in both), and
``peak_mib`` = a fresh process's peak RSS (``VmHWM``; ``ru_maxrss`` would inherit the parent's)
at the end of one ``measure_folder`` call minus its RSS after imports (``rss_imports_mib``); the
model's own memory is part of the difference, as in the job (Linux only). Times are process
CPU seconds by default (one thread: CPU time = compute time, and other jobs on the machine
disturb it less than wall time); ``--clock wall`` for wall time.

Prints a table and writes CSV (default benchmarks/results/bench_ppp_cpu.csv; with --quick, a
smoke run of 2 images x 3 pairs, a file in the temporary folder unless --out is given).

    python benchmarks/bench_ppp.py                 # 8 images x 7 pairs per arch, about 2 min
    python benchmarks/bench_ppp.py --quick         # about 35 s
    python benchmarks/bench_ppp.py [--size 224] [--images N] [--pairs P] [--clock cpu|wall] [--archs ...] [--out CSV]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import yaml

from pppcore import align, build_model, make_twin
from pppcore.images import big_crops, list_images, normalize
from pppcore.models import PPPModel
from pppcore.ppp import measure_folder
from pppcore.repro.config import with_defaults
from pppcore.repro.data.synthetic_tiles import write_synthetic_mosaics
from pppcore.runtime import prepare_job

from report_table import print_and_write  # benchmarks/ (the script's own folder)

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("vgg19", "resnet50", "efficientnet_b0")
BUDGET = 1.10  # measure <= 1.10 x the two bare forwards
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def build(arch: str, cfg: dict) -> PPPModel:
    """``arch`` as config.yaml's ``train.archs`` builds it (width, build options), zeros padding, eval."""
    from pppcore.repro.config import TrainConfig  # the training job's reading of the arch entry

    t = cfg["train"]
    recipe = {k: v for k, v in t.items() if k not in ("archs", "paddings", "seeds", "data", "none_seeds")}
    job = TrainConfig.from_config(arch, "zeros", 0, t["archs"][arch], recipe, num_classes=10)
    return build_model(arch, "zeros", 10, job.width, seed=0, task=job.task, **(job.model_kwargs or {})).eval()


def spread(values: list[float], digits: int, scale: float = 1.0) -> tuple[float, float, float]:
    """(median, min, max) of ``values`` x ``scale``, rounded."""
    return tuple(round(scale * v, digits) for v in (statistics.median(values), min(values), max(values)))


def timing(
    model: PPPModel, folder: Path, size: int, n: int, batch: int, pairs: int, clock: Callable[[], float]
) -> dict:
    files = list_images(folder)[:n]
    alignment = align(model, size)
    twin = make_twin(model, alignment).eval()

    def measure() -> None:
        results = measure_folder(model, folder, size, max_images=n, batch_size=batch, seed=0, progress=False)
        if list(results) != list(model.loi):
            raise RuntimeError(f"measure_folder returned {list(results)}, expected {list(model.loi)}")

    def bare() -> None:  # the images read as the job reads them, then the two forwards
        with torch.no_grad():
            for big in big_crops(files, alignment.big_size, batch):
                big = normalize(big, inplace=True)
                model.features(alignment.regular_crop(big).contiguous())
                twin.features(big)

    def fixed() -> None:
        make_twin(model, align(model, size))

    def load() -> None:
        for _ in big_crops(files, alignment.big_size, batch):
            pass

    def timed(fn: Callable[[], None]) -> float:
        start = clock()
        fn()
        return clock() - start

    measure(), bare()  # warm-up
    times: dict[str, list[float]] = {"measure": [], "bare": []}
    ratios = []
    for i in range(pairs):
        pair = {}
        for way in ("measure", "bare") if i % 2 == 0 else ("bare", "measure"):
            pair[way] = timed(measure if way == "measure" else bare)
            times[way].append(pair[way])
        ratios.append(pair["measure"] / pair["bare"])
    fixed_ms = spread([timed(fixed) for _ in range(pairs)], 1, 1000)[0]
    load_s = spread([timed(load) for _ in range(pairs)], 3)[0]
    m, b, r = spread(times["measure"], 3), spread(times["bare"], 3), spread(ratios, 3)
    return {
        "big_crop": alignment.big_size[0],
        "images": len(files),
        "batch": batch,
        "pairs": pairs,
        "measure_s": m[0], "measure_min": m[1], "measure_max": m[2],
        "bare_s": b[0], "bare_min": b[1], "bare_max": b[2],
        "ratio": r[0], "ratio_min": r[1], "ratio_max": r[2],
        "within_budget": r[0] <= BUDGET,
        "fixed_ms": fixed_ms,
        "load_s": load_s,
        "images_per_s": round(len(files) / statistics.median(times["measure"]), 2),
    }


def rss_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MiB, from /proc/self/status.

    Not ``ru_maxrss``: Linux carries it across ``exec``, so a child's starts at the RSS its
    parent had when it forked (here: the previous arch's images and features)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def probe(arch: str, folder: str, size: int, n: int, batch: int) -> dict:
    """In a fresh process, imports done: the peak RSS of one job-like ``measure_folder`` call
    above the RSS after imports."""
    after_imports = rss_mib("VmRSS")
    prepare_job(1, "cpu")
    model = build(arch, config())
    measure_folder(model, folder, size, max_images=n, batch_size=batch, seed=0, progress=False)
    return {"rss_imports_mib": round(after_imports, 1), "peak_mib": round(rss_mib("VmHWM") - after_imports, 1)}


def memory(arch: str, folder: Path, size: int, n: int, batch: int) -> dict:
    cmd = [sys.executable, __file__, "--probe", arch, str(folder), "--size", str(size), "--images", str(n),
           "--batch-size", str(batch)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=224, help="measurement input size (px)")
    parser.add_argument("--images", type=int, default=None,
                        help="images per call (default: ppp.max_images; --quick: 2)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: ppp.batch_size")
    parser.add_argument("--pairs", type=int, default=None, help="timed (measure, bare) pairs (default 7; --quick: 3)")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="cpu")
    parser.add_argument("--archs", nargs="+", default=list(ARCHS), choices=ARCHS)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 images, 3 pairs, CSV to the temporary folder")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--probe", nargs=2, metavar=("ARCH", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    cfg = config()
    ppp = with_defaults(cfg["ppp"], "ppp")
    n = args.images or (2 if args.quick else ppp["max_images"] or 8)
    batch = args.batch_size or ppp["batch_size"]
    if args.probe:
        print(json.dumps(probe(*args.probe, args.size, n, batch)))
        return
    prepare_job(1, "cpu")  # as the job: tuned malloc, one thread
    pairs = args.pairs or (3 if args.quick else 7)
    out = args.out or (Path(tempfile.gettempdir()) / "bench_ppp_cpu_quick.csv" if args.quick
                       else ROOT / "benchmarks" / "results" / "bench_ppp_cpu.csv")
    models = {arch: build(arch, cfg) for arch in args.archs}
    mosaic = max(cfg["tiles"]["size"], *(max(align(m, args.size).big_size) for m in models.values()))
    clock = CLOCKS[args.clock]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_ppp_") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        write_synthetic_mosaics(folder, n, mosaic, seed=cfg["tiles"]["seed"])
        print(f"{n} synthetic mosaics of {mosaic} px written in {time.perf_counter() - start:.1f} s", flush=True)
        for arch, model in models.items():
            row = {"arch": arch, "width": model.config["width"], "size": args.size,
                   "threads": torch.get_num_threads(), "clock": args.clock}
            row.update(timing(model, folder, args.size, n, batch, pairs, clock))
            row.update(memory(arch, folder, args.size, n, batch))
            rows.append(row)
            print(row, flush=True)
    print_and_write(rows, out)


if __name__ == "__main__":
    main()
