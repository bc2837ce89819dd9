import json
import subprocess
import sys

import pytest

from pppcore.checkpoint import save_checkpoint

from helpers import small_model, write_images


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "pppcore", *args], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_align_prints_the_appendix_table():
    out = run("align", "--arch", "efficientnet_b0", "--input-size", "224", "--width", "0.25").stdout
    assert "1043x1043" in out and "(425, 425)" in out and "(394, 394)" in out and "(104, 104)" in out


@pytest.fixture
def image_dir(tmp_path):
    return write_images(tmp_path / "tiles", 3, 320, seed=2)


def test_measure_with_checkpoint_writes_json(image_dir, tmp_path):
    model = small_model("vgg19", "reflect")
    ckpt = tmp_path / "vgg.pt"
    save_checkpoint(ckpt, model, epoch=3)
    out = tmp_path / "m" / "metrics.json"
    proc = run("measure", "--arch", "vgg19", "--padding", "reflect", "--checkpoint", str(ckpt),
               "--images", str(image_dir), "--input-size", "64", "--out", str(out))
    assert "block5" in proc.stdout
    payload = json.loads(out.read_text())
    assert list(payload["layers"]) == ["block2", "block3", "block4", "block5"]
    assert payload["layers"]["block2"]["n_images"] == 3 and payload["layers"]["block2"]["mae_ppp"] > 0
    assert payload["alignment"]["big_size"] == [300, 300]


def test_wrong_arch_checkpoint_is_named(image_dir, tmp_path):
    ckpt = tmp_path / "resnet.pt"
    save_checkpoint(ckpt, small_model("resnet50"))
    proc = run("measure", "--arch", "vgg19", "--checkpoint", str(ckpt), "--images", str(image_dir),
               "--input-size", "64", check=False)
    assert proc.returncode == 2 and "resnet.pt holds a resnet50 but the model is a vgg19" in proc.stderr


def test_truncated_checkpoint_is_named(image_dir, tmp_path):
    ckpt = tmp_path / "cut.pt"
    save_checkpoint(ckpt, small_model("vgg19"))
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    proc = run("measure", "--arch", "vgg19", "--width", "0.125", "--checkpoint", str(ckpt), "--images", str(image_dir),
               "--input-size", "64", check=False)
    assert proc.returncode == 2 and "cut.pt: cannot be read" in proc.stderr


def test_images_too_small_for_the_big_crop(image_dir):
    proc = run("measure", "--arch", "efficientnet_b0", "--width", "0.25", "--images", str(image_dir),
               "--input-size", "64", check=False)

    assert proc.returncode == 2 and "tile_0.png is 320x320 px but the big crop needs at least" in proc.stderr


def test_bad_padding_lists_choices():
    proc = run("align", "--arch", "vgg19", "--padding", "mirror", check=False)
    assert proc.returncode == 2 and "zeros" in proc.stderr and "randn" in proc.stderr


def test_measure_torchvision_with_a_weights_file(tmp_path):
    import torch
    from torchvision import models as tvm

    torch.manual_seed(1)
    weights = tmp_path / "resnet18.pth"
    torch.save(tvm.resnet18(weights=None).state_dict(), weights)
    out = run("align", "--torchvision", "resnet18", "--input-size", "32").stdout
    assert "stride32" in out and "435x435" in out
    images = write_images(tmp_path / "big", 2, 440, seed=3)
    json_path = tmp_path / "m.json"
    proc = run("measure", "--torchvision", "resnet18", "--weights", str(weights), "--padding", "circular",
               "--taps", "c3=layer1,c4=layer2", "--images", str(images), "--input-size", "32", "--out", str(json_path))
    assert "c4" in proc.stdout
    payload = json.loads(json_path.read_text())
    assert list(payload["layers"]) == ["c3", "c4"] and payload["layers"]["c3"]["n_images"] == 2
    assert payload["config"] == {"arch": "resnet18", "padding": "circular", "source": "torchvision:resnet18",
                                 "weights": str(weights)}


def test_module_factory_and_flag_errors(tmp_path):
    (tmp_path / "mynet.py").write_text(
        "from torch import nn\n\ndef build():\n"
        "    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2, "
        "padding=1))\n"
    )
    proc = subprocess.run([sys.executable, "-m", "pppcore", "align", "--module", "mynet:build", "--input-size", "32"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0 and "stride4" in proc.stdout, proc.stderr
    for args, message in (
        (("--arch", "vgg19", "--weights", "w.pth"), "--weights is for --torchvision / --module"),
        (("--torchvision", "resnet18", "--arch", "vgg19"), "not allowed with argument"),
        (("--torchvision", "resnet18", "--weights", str(tmp_path / "none.pth")), "none.pth: no such file"),
        (("--torchvision", "vit_b_16"), "fails on a 128x128 probe input: Wrong image height! Expected 224"),
        (("--torchvision", "vit_b_16", "--probe-size", "224"), "node _assert"),
    ):
        proc = run("align", *args, check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
