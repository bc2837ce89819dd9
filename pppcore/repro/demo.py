"""The offline library demo (``python -m pppcore.repro demo``).

Random-init models at CPU width (BatchNorm statistics set from the images, as training
would), procedural images, every architecture x padding: the
paper's Appendix A alignment at 224 px, then PPP at a small input size, written as JSON,
CSV and a PNG grid of channel-mean PPP maps.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import torch

from ..alignment import align
from ..images import center_crop, normalize as imagenet_normalize
from ..io import atomic_path, write_json
from ..metrics import format_results, measure_ppp
from ..models import build_model
from ..models.base import calibrate_batchnorm
from .data.synthetic import synthetic_images

DEMO_WIDTH = {"vgg19": 0.125, "resnet50": 0.25, "efficientnet_b0": 0.25}
DEMO_PADDINGS = ("zeros", "circular", "reflect", "replicate", "randn")
DEMO_INPUT = 96


def run_demo(out: Path, n_images: int = 16) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for arch in DEMO_WIDTH:
        print(align(build_model(arch, width=DEMO_WIDTH[arch]), 224).table(), end="\n\n")
    biggest = max(max(align(build_model(a, width=w), DEMO_INPUT).big_size) for a, w in DEMO_WIDTH.items())
    images = synthetic_images(n_images, biggest, seed=0)
    rows, maps = [], {}
    for arch, width in DEMO_WIDTH.items():
        for padding in DEMO_PADDINGS:
            model = build_model(arch, padding, num_classes=10, width=width, seed=0)
            calibrate_batchnorm(model, [imagenet_normalize(torch.stack([center_crop(i, (DEMO_INPUT, DEMO_INPUT), "")
                                                                        for i in images]))])
            results = measure_ppp(model, images, DEMO_INPUT, batch_size=8, seed=0, progress=True)
            print(f"{arch} / {padding}\n{format_results(results)}\n")
            for name, r in results.items():
                rows.append({"arch": arch, "padding": padding, **r.summary()})
                maps[(arch, padding, name)] = r.channel_mean.numpy()
    with atomic_path(out / "ppp_demo.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    write_json(out / "ppp_demo.json", {"input_size": DEMO_INPUT, "n_images": n_images, "rows": rows})
    _plot(maps, out / "ppp_demo.png")
    print(f"demo done in {time.perf_counter() - start:.0f} s: {out}/ppp_demo.{{csv,json,png}}")
    return {"rows": rows}


def _plot(maps: dict, path: Path) -> None:
    from matplotlib.figure import Figure  # no pyplot: renders headless, no backend to select

    keys = sorted({(a, layer) for a, _, layer in maps}, key=lambda k: (list(DEMO_WIDTH).index(k[0]), k[1]))
    fig = Figure(figsize=(2 * len(DEMO_PADDINGS), 2 * len(keys)))
    axes = fig.subplots(len(keys), len(DEMO_PADDINGS), squeeze=False)
    for i, (arch, layer) in enumerate(keys):
        for j, padding in enumerate(DEMO_PADDINGS):
            m = maps[(arch, padding, layer)]
            m = (m - m.min()) / (m.max() - m.min() + 1e-12)  # each map normalised to [0, 1]
            ax = axes[i][j]
            ax.imshow(m, cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(padding)
            if j == 0:
                ax.set_ylabel(f"{arch}\n{layer}", fontsize=7)
    fig.suptitle(f"PPP (channel mean, each map in [0, 1]), random init, {DEMO_INPUT} px")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
