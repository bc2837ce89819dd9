"""Helpers shared by several test modules (plain functions and constants; fixtures live in conftest.py).

Test modules import from here, never from ``conftest`` or from one another: pytest imports
conftest itself, and a test module imported as a library runs its module-level code twice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import torch

from pppcore import align, build_model, make_twin, metrics
from pppcore.models.base import calibrate_batchnorm

ROOT = Path(__file__).resolve().parents[1]
MICRO = ROOT / "tests" / "micro.yaml"

# Widths small enough for a 2-core CPU; the geometry does not depend on them.
WIDTHS = {"vgg16": 0.125, "vgg19": 0.125, "resnet50": 0.125, "efficientnet_b0": 0.25}
MEASURED_ARCHS = ("vgg19", "resnet50", "efficientnet_b0")
PADDED = ("zeros", "circular", "reflect", "replicate", "randn")


# ---------------------------------------------------------------------------- models and features


def small_model(arch: str, padding: str = "zeros", calibrate: bool = True, **kwargs):
    """A CPU-width model in eval mode. ``calibrate`` sets BatchNorm statistics from a few
    random batches, as training would: with the init statistics (mean 0, var 1) deep
    EfficientNet features shrink to ~1e-10 and every comparison drowns in rounding."""
    model = build_model(arch, padding, num_classes=10, width=WIDTHS[arch], **kwargs)
    if calibrate and padding != "none":  # a padless net needs big inputs; not worth it here
        calibrate_batchnorm(model,
                            (torch.rand(4, 3, 96, 96, generator=torch.Generator().manual_seed(s)) for s in range(2)))
    return model.eval()


def paired_features(model, size: int, big_image: torch.Tensor, alignment=None):
    """(alignment, regular features, raw twin features): :func:`pppcore.metrics.paired_features`
    with the alignment and the twin made here, without gradients."""
    alignment = alignment or align(model, size)
    twin = make_twin(model, alignment).eval()
    with torch.no_grad():
        return (alignment, *metrics.paired_features(model, twin, alignment, big_image))


def shifted_diff(o: torch.Tensor, a: torch.Tensor, top: int, left: int, dy: int = 0, dx: int = 0) -> torch.Tensor:
    """|O - A| where A[i, j] is compared with O[top + dy + i, left + dx + j], on the overlap."""
    h, w = a.shape[-2:]
    rows = [i for i in range(h) if 0 <= top + dy + i < o.shape[-2]]
    cols = [j for j in range(w) if 0 <= left + dx + j < o.shape[-1]]
    a_part = a[..., rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    o_part = o[..., top + dy + rows[0] : top + dy + rows[-1] + 1, left + dx + cols[0] : left + dx + cols[-1] + 1]
    return (o_part - a_part).abs()


def tolerance(a: torch.Tensor) -> float:
    """Float32 rounding scale of a feature map."""
    return 1e-4 * float(a.abs().max()) + 1e-30


def interior_mask(alignment, path: str) -> torch.Tensor:
    """True where the regular feature's receptive field lies inside the regular crop."""
    masks = []
    for axis, size in zip(alignment.axes, alignment.input_size, strict=True):
        geo = axis.regular[path]
        masks.append(torch.tensor([geo.receptive_field(i)[0] >= 0 and geo.receptive_field(i)[1] <= size - 1
                                   for i in range(geo.size)]))

    return masks[0][:, None] & masks[1][None, :]


def big_image(alignment, seed: int = 0) -> torch.Tensor:
    """A random 1 x 3 image of the alignment's big crop size."""
    return torch.rand(1, 3, *alignment.big_size, generator=torch.Generator().manual_seed(seed))


def periodic_image(alignment, period: int, seed: int = 0) -> torch.Tensor:
    """A big crop tiled with one random ``period`` x ``period`` tile."""
    tile = torch.rand(1, 3, period, period, generator=torch.Generator().manual_seed(seed))
    h, w = alignment.big_size
    reps = (h // period + 2, w // period + 2)
    return tile.repeat(1, 1, *reps)[..., :h, :w]


# ---------------------------------------------------------------------------- images on disk


def write_images(folder, n: int, size: int, seed: int, prefix: str = "tile_"):
    """``n`` procedural PNG images of ``size`` px in a new ``folder``."""
    import numpy as np
    from PIL import Image

    from pppcore.repro.data.synthetic import synthetic_images

    folder.mkdir(parents=True)
    for i, img in enumerate(synthetic_images(n, size, seed=seed)):
        Image.fromarray((img.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(folder / f"{prefix}{i}.png")
    return folder


# ---------------------------------------------------------------------------- the Snakemake workflow


def workflow_copy(tmp_path: Path) -> Path:
    """The workflow's files in a scratch folder, so a test may edit them."""
    wf = tmp_path / "wf"
    wf.mkdir()
    shutil.copy(ROOT / "Snakefile", wf)
    # The micro config *is* the default here: --configfile merges nested keys into config.yaml,
    # so the default's archs would otherwise stay in the grid.
    shutil.copy(MICRO, wf / "config.yaml")
    for folder in ("rules", "workflow_scripts", "config", "envs", "report"):
        shutil.copytree(ROOT / folder, wf / folder)
    return wf


def snakemake(wf: Path, *args: str, config: Path = MICRO, check: bool = True,
              quiet: bool = True) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` in ``wf`` on 2 cores; fails the test on a non-zero exit when ``check``."""
    cmd = [sys.executable, "-m", "snakemake", *args, "--cores", "2", *(["--quiet", "rules"] if quiet else []),
           "--configfile", str(config)]
    proc = subprocess.run(cmd, cwd=wf, capture_output=True, text=True, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count of the dry run's last "Job stats" table ({} when nothing is to do)."""
    text = proc.stdout + proc.stderr
    if "Job stats:" not in text:
        assert "Nothing to be done" in text, text[-2000:]
        return {}
    counts = {}
    for row in text.split("Job stats:")[-1].splitlines()[3:]:
        if not row.strip() or row.startswith("total"):
            break
        name, count = row.split()
        counts[name] = int(count)
    return counts


def planned_rules(proc: subprocess.CompletedProcess) -> set[str]:
    """Rule names of the dry run's last "Job stats" table."""
    return set(planned_jobs(proc))


def frame(value, archs=("vgg19",), paddings=("zeros", "circular"), seeds=(0, 1), epochs=(0, 2, 4), performance=0.8,
          metric="top1", num_classes=10, sizes=(224,)):
    """A :func:`pppcore.repro.tables.collect`-shaped frame; ``value(arch, padding, seed, epoch)``
    (or ``value(arch, padding, seed, epoch, size)`` when it takes a fifth argument) gives every
    reading at LoI 4 (LoIs 1-3 get the same), once per measurement size in ``sizes`` (the first
    is the primary one). ``zero_ppp`` is ``value == 0``, as the metric reads every SNR of a
    zero-PPP layer as exactly 0. ``performance``: the trained checkpoints' score, a number or
    ``performance(arch, padding, seed)``. For the claims, readings and reading-fit tests."""
    import inspect

    import pandas as pd

    from pppcore.metrics import READINGS

    sized = len(inspect.signature(value).parameters) >= 5
    score = performance if callable(performance) else lambda arch, padding, seed: performance
    rows = []
    for arch in archs:
        for padding in paddings:
            for seed in seeds:
                for epoch in epochs:
                    for size in sizes:
                        v = value(arch, padding, seed, epoch, size) if sized else value(arch, padding, seed, epoch)
                        for loi in (1, 2, 3, 4):
                            rows.append({
                                "arch": arch, "padding": padding, "seed": seed, "epoch": epoch,
                                "size": size, "loi_index": loi,

                                **{r: v for r in READINGS}, "sigma": 1.0, "mean_abs": 1.0, "zero_ppp": v == 0,
                                "init": "pytorch_default", "bn_stats": "as_saved", "num_classes": num_classes,
                                "performance": score(arch, padding, seed) if epoch else 0.1,
                                "performance_metric": metric,
                            })
    return pd.DataFrame(rows)
