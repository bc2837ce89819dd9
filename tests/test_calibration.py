import json

import pytest
import torch

from pppcore import build_model
from pppcore.checkpoint import save_checkpoint
from pppcore.ppp import extract_ppp
from pppcore.repro.calibration import bn_calibrator, calibrate, calibration_images, has_batchnorm
from pppcore.repro.config import Calibration, DataConfig, PPPConfig

from helpers import write_images

DATA = DataConfig("classification")


def tiny(n_images):
    return Calibration(n_images, DATA, 64)


def ppp(bn_stats, n_images):
    return PPPConfig((64,), bn_stats=bn_stats, calibration=tiny(n_images) if bn_stats == "calibrated" else None)


def _running_stats(model):
    return [t.clone() for n, t in model.state_dict().items() if n.endswith(("running_mean", "running_var"))]


def test_calibration_images_are_reproducible_and_the_first_of_the_training_set():
    a, origin = calibration_images(tiny(6))
    b, _ = calibration_images(tiny(6))
    assert a.shape == (6, 3, 64, 64) and torch.equal(a, b)
    more, _ = calibration_images(tiny(9))
    assert torch.equal(more[:6], a)  # procedural item i depends on i only
    assert "first 6" in origin and "classification" in origin


def test_calibrated_statistics_are_reproducible_and_leave_the_weights_alone():
    images, _ = calibration_images(tiny(8))
    runs = []
    for _ in range(2):
        model = build_model("vgg19", "zeros", num_classes=10, width=0.125, batch_norm=True, seed=0)
        weights = [p.clone() for p in model.parameters()]
        record = calibrate(model, images, 64, batch_size=4)
        assert record == {"bn_stats": "calibrated", "calibration_images": 8, "calibration_size": 64}
        assert all(torch.equal(w, p) for w, p in zip(weights, model.parameters(), strict=True))
        assert not model.training
        runs.append(_running_stats(model))
    fresh = _running_stats(build_model("vgg19", "zeros", num_classes=10, width=0.125, batch_norm=True, seed=0))
    assert all(torch.equal(x, y) for x, y in zip(*runs, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(runs[0], fresh, strict=True))  # it did change them


def test_bn_calibrator_settings():
    assert bn_calibrator(ppp("as_saved", 4)) is None
    plain = build_model("vgg19", "zeros", num_classes=10, width=0.125, batch_norm=False)
    assert not has_batchnorm(plain)
    hook = bn_calibrator(ppp("calibrated", 4))
    assert hook(plain)["bn_stats"] == "as_saved"


def test_extract_records_the_bn_statistics_it_measured_with(tmp_path):
    tiles = write_images(tmp_path / "tiles", 2, 400, seed=1, prefix="t")
    model = build_model("vgg19", "zeros", num_classes=10, width=0.125, batch_norm=True, seed=0, init="pytorch_default")
    ckpt = tmp_path / "epoch_000.pt"
    save_checkpoint(ckpt, model, epoch=0)
    out = {}
    for bn in ("as_saved", "calibrated"):
        js = tmp_path / f"{bn}.json"
        res = extract_ppp(ckpt, tiles, 64, js, tmp_path / f"{bn}.npz", progress=False,
                          calibrate=bn_calibrator(ppp(bn, 8)))
        meta = json.loads(js.read_text())
        assert meta["bn_statistics"]["bn_stats"] == bn
        assert meta["config"]["init"] == "pytorch_default"
        out[bn] = list(res.values())[-1].mean_abs
    assert meta["bn_statistics"]["calibration_images"] == 8
    assert "procedural classification training set" in meta["bn_statistics"]["calibration_source"]
    assert out["as_saved"] != pytest.approx(out["calibrated"], rel=0.05)  # the feature scale moved
