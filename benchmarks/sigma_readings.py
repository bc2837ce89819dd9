"""What each reading of Eq. 4's sigma measures, on untrained models: sigma and SNR-PPP at LoI 4
under every reading (pppcore.metrics.SIGMAS), beside how much the features depend on the image.

``image_dependence`` = mean over (c, h, w) of the std over images of A_n, divided by the
pooled per-channel std (sigma_pooled): ~0 when the features barely depend on the image (a
collapsed random VGG: per-channel constants plus the border pattern zeros padding leaves),
~1 when the image drives them. Models as the tiny config builds them (VGG19 /8 with PyTorch's
layer defaults, ResNet50 /4 with torchvision's init), BatchNorm as saved and calibrated.

Usage: python benchmarks/sigma_readings.py [--images 8] [--out CSV]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pppcore import align, build_model, measure_ppp
from pppcore.images import big_crops, normalize
from pppcore.metrics import SIGMAS
from pppcore.repro.calibration import calibrate, calibration_images
from pppcore.repro.config import Calibration, DataConfig
from pppcore.repro.data.synthetic_tiles import synthetic_mosaics
from pppcore.repro.train import zero_init_residual

from report_table import print_and_write

MODELS = {  # name -> (arch, build kwargs)
    "vgg19 /8, pytorch_default": ("vgg19", {"width": 0.125, "batch_norm": True, "init": "pytorch_default"}),
    # + zero_init_residual, as trained
    "resnet50 /4, torchvision": ("resnet50", {"width": 0.25, "init": "torchvision"}),
}


def image_dependence(model: torch.nn.Module, images: list, size: int) -> float:
    """mean_{c,h,w} std_n(A_n) / mean_c std_{n,h,w}(A[:, c]) at the last LoI."""
    alignment = align(model, size)
    with torch.no_grad():
        feats = [list(model.features(alignment.regular_crop(normalize(big))).values())[-1]
                 for big in big_crops(images, alignment.big_size, 4)]
    a = torch.cat(feats).double()
    pooled = a.transpose(0, 1).flatten(1).std(1, correction=0).mean()
    return float(a.std(0, correction=0).mean() / pooled) if pooled > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 64])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "sigma_readings.csv"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    calib = calibration_images(Calibration(64, DataConfig("classification"), 64))[0]
    rows = []
    for name, (arch, kwargs) in MODELS.items():
        for bn in ("as_saved", "calibrated"):
            model = build_model(arch, "zeros", num_classes=10, seed=0, **kwargs).eval()
            if arch == "resnet50":
                zero_init_residual(model)
            if bn == "calibrated":
                calibrate(model, calib, 64)
            for size in args.sizes:
                big = max(align(model, size).big_size)
                images = list(synthetic_mosaics(args.images, big, seed=0))
                r = list(measure_ppp(model, images, size, batch_size=4, seed=0).values())[-1]
                row = {"model": name, "bn_stats": bn, "size": size,
                       "image_dependence": f"{image_dependence(model, images, size):.3g}",
                       "mae_ppp": f"{r.mae_ppp:.4g}", "mean_abs": f"{r.mean_abs:.4g}"}
                for reading, (sigma, _) in SIGMAS.items():
                    row[sigma] = f"{r[sigma]:.4g}"
                    row[reading] = f"{r[reading]:.4g}"
                rows.append(row)
                print(name, bn, size, row["image_dependence"], {k: row[k] for k in SIGMAS}, flush=True)
    print_and_write(rows, args.out)


if __name__ == "__main__":
    main()
