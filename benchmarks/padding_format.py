"""Training step time with the pads before and after they kept the memory format.

``train.memory_format: channels_last`` runs the models NHWC, but ``F.pad``'s circular mode and
``randn``'s concatenation used to return NCHW maps: the next conv and the BatchNorm before the
pad then converted maps and gradients. Per arch (config.yaml ``train.archs`` widths) x padding,
one SGD step (forward, backward, update; batch 32, 64 px, one thread, channels_last) with the
pads' former forward (:func:`legacy_forward`) and with today's, timed in alternating pairs;
median of ``--repeats`` timings (each the mean of ``--steps`` steps, process CPU time, so other
jobs on the machine disturb it less) with their min and max.

Usage: python benchmarks/padding_format.py [--out CSV] [--repeats 5] [--steps 3]   (about 2 min)
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import types
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from memory_format import step_seconds

from pppcore import build_model
from pppcore.alignment import input_size_for
from pppcore.padding import NoPad2d, Pad2d, RandnPad2d

from report_table import print_and_write

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("vgg19", "resnet50", "efficientnet_b0")
PADDINGS = ("zeros", "circular", "reflect", "replicate", "randn")


def legacy_forward(pad: Pad2d, x: torch.Tensor) -> torch.Tensor:
    """What ``pad(x)`` computed before the pads kept the memory format (commit 4996fd2): ``F.pad``
    (circular: NCHW output whatever the input) and ``randn``'s concatenation of NCHW bands."""
    a = pad.amount
    if not a:
        return x
    if not isinstance(pad, RandnPad2d):
        if not pad.fits(min(x.shape[-2:])):
            raise ValueError(
                f"{pad.scheme} padding of {a} {pad.needs()}, got {tuple(x.shape[-2:])}; use a larger input size")
        return F.pad(x, [a] * 4, mode="constant" if pad.scheme == "zeros" else pad.scheme)
    h, w = x.shape[-2:]
    kh, kw = min(pad.window, h), min(pad.window, w)
    rows = (torch.arange(-a, h + a, device=x.device) - (kh - 1) // 2).clamp(0, h - kh)
    cols = (torch.arange(-a, w + a, device=x.device) - (kw - 1) // 2).clamp(0, w - kw)
    top = pad._draw(x[..., :kh, :], (kh, kw), cols, a, along_rows=False)
    bottom = pad._draw(x[..., h - kh :, :], (kh, kw), cols, a, along_rows=False)
    left = pad._draw(x[..., :, :kw], (kh, kw), rows[a : a + h], a, along_rows=True)
    right = pad._draw(x[..., :, w - kw :], (kh, kw), rows[a : a + h], a, along_rows=True)
    middle = torch.cat([left, x, right], dim=-1)
    return torch.cat([top, middle, bottom], dim=-2)


@contextlib.contextmanager
def legacy_pads(model: torch.nn.Module):
    """Every pad of ``model`` runs :func:`legacy_forward` inside the block."""
    pads = [m for m in model.modules() if isinstance(m, Pad2d) and not isinstance(m, NoPad2d)]
    for m in pads:
        m.forward = types.MethodType(legacy_forward, m)
    try:
        yield
    finally:
        for m in pads:
            del m.forward


def build(arch: str, padding: str, entry: dict) -> torch.nn.Module:
    """The model config.yaml trains (its build options; classification head), NHWC."""
    options = {k: v for k, v in entry.items()
               if k not in ("width", "task", "paddings", "lr", "zero_init_residual", "init_weights")}
    return build_model(arch, padding, 10, entry["width"], seed=0, **options).to(
        memory_format=torch.channels_last).train()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "padding_format.csv")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--archs", nargs="+", default=list(ARCHS))
    ap.add_argument("--paddings", nargs="+", default=list(PADDINGS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    t = yaml.safe_load((ROOT / "config.yaml").read_text())["train"]
    rows = []
    for arch in args.archs:
        for padding in args.paddings:
            model = build(arch, padding, t["archs"][arch])
            size = input_size_for(model, t["image_size"])
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            x = torch.rand(t["batch_size"], 3, size, size, generator=torch.Generator().manual_seed(0)).to(
                memory_format=torch.channels_last)
            y = torch.arange(t["batch_size"]) % 10
            times: dict[str, list[float]] = {"old": [], "new": []}
            with legacy_pads(model):
                step_seconds(model, opt, x, y, 1)  # warm-up, both ways
            step_seconds(model, opt, x, y, 1)
            for i in range(args.repeats):
                for way in ("old", "new") if i % 2 == 0 else ("new", "old"):  # alternate which goes first
                    with legacy_pads(model) if way == "old" else contextlib.nullcontext():
                        times[way].append(step_seconds(model, opt, x, y, args.steps))
            ms = {w: [1000 * s for s in v] for w, v in times.items()}
            old, new = statistics.median(ms["old"]), statistics.median(ms["new"])
            rows.append({"arch": arch, "width": t["archs"][arch]["width"], "padding": padding,
                         "old_ms": round(old, 1), "old_min": round(min(ms["old"]), 1),
                         "old_max": round(max(ms["old"]), 1),
                         "new_ms": round(new, 1), "new_min": round(min(ms["new"]), 1),
                         "new_max": round(max(ms["new"]), 1),
                         "speedup": round(old / new, 2)})
            print(rows[-1], flush=True)
    print_and_write(rows, args.out)


if __name__ == "__main__":
    main()
