"""Training writes chronological checkpoints and survives kill -9 with identical results."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from pppcore.data.procedural import ObjectShapes
from pppcore.train import TrainConfig, train

ARGS = ["--arch", "vgg19", "--batch-norm", "--width", "0.125", "--epochs", "6", "--ckpt-every", "2", "--n-train", "320", "--n-val", "64", "--seed", "3"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # same thread count in every run: same float sums


def start(out, state=None):
    cmd = [sys.executable, "-m", "pppcore", "train", *ARGS, "--out", str(out)] + (["--state", str(state)] if state else [])
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_kill_9_then_resume_gives_the_uninterrupted_weights(tmp_path):
    straight = start(tmp_path / "straight")
    assert straight.wait(timeout=300) == 0

    out, state = tmp_path / "killed", tmp_path / "state" / "train.pt"
    proc = start(out, state)
    deadline = time.monotonic() + 240
    while not (out / "epoch_002.pt").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "training ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert not (out / "epoch_006.pt").exists()
    init_mtime = (out / "epoch_000.pt").stat().st_mtime_ns
    resumed = start(out, state)
    assert resumed.wait(timeout=300) == 0
    assert (out / "epoch_000.pt").stat().st_mtime_ns == init_mtime  # resumed, not restarted
    for epoch in (0, 2, 4, 6):
        a, b = weights(tmp_path / "straight" / f"epoch_{epoch:03d}.pt"), weights(out / f"epoch_{epoch:03d}.pt")
        assert all(torch.equal(a[k], b[k]) for k in a), f"epoch {epoch} differs after resume"
    with open(out / "log.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3, 4, 5, 6]
    assert not list(out.glob(".*.tmp"))


def test_checkpoints_and_log(tmp_path):
    cfg = TrainConfig("resnet50", "circular", seed=0, width=0.125, epochs=3, ckpt_every=2, batch_size=32, lr=0.05)
    data = ObjectShapes(256, 64, seed=0)
    log = train(cfg, data, ObjectShapes(64, 64, seed=1), tmp_path, tmp_path / "state.pt", progress=False)
    assert sorted(p.name for p in tmp_path.glob("epoch_*.pt")) == ["epoch_000.pt", "epoch_002.pt", "epoch_003.pt"]
    assert [r["epoch"] for r in log] == [1, 2, 3]
    assert all(0 < r["train_loss"] < 10 and 0 <= r["val_acc"] <= 1 for r in log)
    blob = torch.load(tmp_path / "epoch_002.pt", weights_only=True)
    assert blob["config"]["padding"] == "circular" and blob["epoch"] == 2
    with pytest.raises(ValueError, match="belongs to another configuration"):
        train(TrainConfig("resnet50", "zeros", width=0.125, epochs=3), data, data, tmp_path, tmp_path / "state.pt", progress=False)


def test_object_shapes_are_seeded_and_balanced():
    a, b = ObjectShapes(40, 48, seed=5), ObjectShapes(40, 48, seed=5)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, ObjectShapes(40, 48, seed=6).images)
    assert torch.bincount(a.labels).tolist() == [4] * 10
    assert 0 <= float(a.images.min()) and float(a.images.max()) <= 1
