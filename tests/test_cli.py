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
    proc = run("measure", "--arch", "vgg19", "--padding", "reflect", "--checkpoint", str(ckpt), "--images", str(image_dir),
               "--input-size", "64", "--out", str(out))
    assert "block5" in proc.stdout
    payload = json.loads(out.read_text())
    assert list(payload["layers"]) == ["block2", "block3", "block4", "block5"]
    assert payload["layers"]["block2"]["n_images"] == 3 and payload["layers"]["block2"]["mae_ppp"] > 0
    assert payload["alignment"]["big_size"] == [300, 300]


def test_wrong_arch_checkpoint_is_named(image_dir, tmp_path):
    ckpt = tmp_path / "resnet.pt"
    save_checkpoint(ckpt, small_model("resnet50"))
    proc = run("measure", "--arch", "vgg19", "--checkpoint", str(ckpt), "--images", str(image_dir), "--input-size", "64", check=False)
    assert proc.returncode == 2 and "resnet.pt holds a resnet50 but the model is a vgg19" in proc.stderr


def test_truncated_checkpoint_is_named(image_dir, tmp_path):
    ckpt = tmp_path / "cut.pt"
    save_checkpoint(ckpt, small_model("vgg19"))
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    proc = run("measure", "--arch", "vgg19", "--width", "0.125", "--checkpoint", str(ckpt), "--images", str(image_dir), "--input-size", "64", check=False)
    assert proc.returncode == 2 and "cut.pt: cannot be read" in proc.stderr


def test_images_too_small_for_the_big_crop(image_dir):
    proc = run("measure", "--arch", "efficientnet_b0", "--width", "0.25", "--images", str(image_dir), "--input-size", "64", check=False)
    assert proc.returncode == 2 and "tile_0.png is 320x320 px but the big crop needs at least" in proc.stderr


def test_bad_padding_lists_choices():
    proc = run("align", "--arch", "vgg19", "--padding", "mirror", check=False)
    assert proc.returncode == 2 and "zeros" in proc.stderr and "randn" in proc.stderr
