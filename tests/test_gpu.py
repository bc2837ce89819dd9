"""The GPU path: config key `device` (auto | cpu | cuda) and a tiny training + extraction on CUDA.

The CUDA test runs where torch sees a GPU (a cluster node, a lent GPU machine) and skips,
saying so, everywhere else; the device-resolution checks run everywhere.
"""

from __future__ import annotations

import json

import pytest
import torch

from pppcore.checkpoint import load_checkpoint
from pppcore.ppp import extract_ppp
from pppcore.repro.data.procedural import ObjectShapes
from pppcore.repro.train import TrainConfig, train
from pppcore.runtime import resolve_device

from helpers import write_images

HAS_CUDA = torch.cuda.is_available()


def test_auto_and_cpu_resolve_without_asking_for_a_gpu():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if HAS_CUDA else "cpu"
    assert resolve_device("auto").type == resolve_device(None).type == resolve_device("AUTO").type == expected


@pytest.mark.skipif(HAS_CUDA, reason="checks the error raised where there is no GPU")
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_cuda_without_a_gpu_is_a_clear_error_not_a_cpu_fallback(spec):
    with pytest.raises(RuntimeError,
                       match=rf"device '{spec}' was asked for \(config key 'device'\) but torch sees no CUDA device"):
        resolve_device(spec)


def tiny_train_and_extract(tmp_path, device: str) -> tuple[dict, dict]:
    """Two epochs of a width-1/8 VGG19 on 128 images, then PPP of the last checkpoint on ``device``."""
    cfg = TrainConfig(arch="vgg19", padding="zeros", seed=0, width=0.125, epochs=2, ckpt_every=1, num_classes=10,
                      model_kwargs={"batch_norm": True})
    out = tmp_path / device
    train(cfg, ObjectShapes(128, 64, cfg.num_classes, seed=0), ObjectShapes(32, 64, cfg.num_classes, seed=1), out,
          out / "state.pt", progress=False, device=device)
    tiles = tmp_path / "tiles"
    if not tiles.exists():
        write_images(tiles, 2, 320, seed=0)
    extract_ppp(out / "epoch_002.pt", tiles, 64, out / "ppp.json", out / "ppp.npz", max_images=2, device=device,
                progress=False)
    first, last = (load_checkpoint(out / f"epoch_{e:03d}.pt").state_dict() for e in (0, 2))
    moved = any(not torch.equal(first[k], last[k]) for k in first if first[k].is_floating_point())
    return json.loads((out / "ppp.json").read_text()), moved


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device: torch.cuda.is_available() is False")
def test_tiny_training_and_extraction_on_cuda(tmp_path):
    meta, moved = tiny_train_and_extract(tmp_path, "cuda")
    # GPU checkpoints load on the CPU; training moved the weights; PPP is there at LoI 4.
    assert moved and meta["epoch"] == 2 and meta["n_images"] == 2
    assert meta["layers"]["block5"]["mae_ppp"] > 0
    # The same checkpoint measured on the CPU: the metrics agree to float32 rounding (the sums
    # run in another order on the GPU), so GPU numbers are comparable with CPU ones.
    gpu = meta["layers"]
    extract_ppp(tmp_path / "cuda" / "epoch_002.pt", tmp_path / "tiles", 64, tmp_path / "c.json", tmp_path / "c.npz",
                max_images=2, device="cpu", progress=False)
    cpu = json.loads((tmp_path / "c.json").read_text())["layers"]
    for layer in cpu:
        for key in ("mae_ppp", "snr_ppp"):
            assert gpu[layer][key] == pytest.approx(cpu[layer][key], rel=1e-3, abs=1e-6), (layer, key)
