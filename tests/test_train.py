"""Training writes chronological checkpoints and survives kill -9 with identical results."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from pppcore import align, build_model, measure_ppp
from pppcore.checkpoint import load_checkpoint
from pppcore.repro.data.procedural import ObjectShapes
from pppcore.repro.data.salient import SalientObjects
from pppcore.repro.train import TrainConfig, learning_rate, train

ARGS = ["--arch", "vgg19", "--batch-norm", "--width", "0.125", "--epochs", "6", "--ckpt-every", "2", "--n-train", "320",
        "--n-val", "64", "--seed", "3"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # same thread count in every run: same float sums


def start(out, state=None):
    cmd = ([sys.executable, "-m", "pppcore.repro", "train", *ARGS, "--out", str(out)]
           + (["--state", str(state)] if state else []))
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
    assert all(0 < r["train_loss"] < 10 and 0 <= r["val_acc"] <= 1 and r["performance"] == round(r["val_acc"], 6)
               for r in log)
    blob = torch.load(tmp_path / "epoch_002.pt", weights_only=True)
    assert blob["config"]["padding"] == "circular" and blob["epoch"] == 2
    assert blob["performance_metric"] == "top1" and blob["performance"] == blob["val_acc"] == log[1]["val_acc"]
    with open(tmp_path / "log.csv") as f:
        assert [float(r["performance"]) for r in csv.DictReader(f)] == [r["performance"] for r in log]
    with pytest.raises(ValueError, match="belongs to another configuration"):
        train(TrainConfig("resnet50", "zeros", width=0.125, epochs=3), data, data, tmp_path, tmp_path / "state.pt",
              progress=False)


def test_validating_at_checkpoints_only_keeps_the_weights_and_checkpoint_scores(tmp_path):
    """validate: checkpoints skips the scoring of epochs without a checkpoint; training draws
    nothing from it, so the weights and the checkpoints' scores are those of every_epoch."""
    torch.set_num_threads(1)
    data, val = ObjectShapes(96, 48, seed=0), ObjectShapes(32, 48, seed=1)
    runs = {}
    for mode in ("every_epoch", "checkpoints"):
        cfg = TrainConfig("vgg19", "randn", seed=0, width=0.0625, epochs=3, ckpt_every=2, batch_size=32, lr=0.01,
                          validate=mode, model_kwargs={"batch_norm": True})
        runs[mode] = (train(cfg, data, val, tmp_path / mode, tmp_path / mode / "state.pt", progress=False),
                      tmp_path / mode)
    (every, a), (ckpts, b) = runs["every_epoch"], runs["checkpoints"]
    assert [r["val_acc"] == "" for r in ckpts] == [True, False, False]  # epoch 1 has no checkpoint
    assert all(r["val_acc"] != "" for r in every)
    for epoch in (0, 2, 3):
        x, y = (torch.load(d / f"epoch_{epoch:03d}.pt", weights_only=True) for d in (a, b))
        assert all(torch.equal(x["state_dict"][k], y["state_dict"][k]) for k in x["state_dict"])
        assert x["val_acc"] == y["val_acc"]
    with pytest.raises(ValueError, match="unknown validate 'sometimes'"):
        TrainConfig("vgg19", validate="sometimes")


def test_channels_last_trains_the_same_model_repeatably(tmp_path):
    """memory_format: channels_last (the tiny default) is a layout, not another computation:
    in float64 one step's loss and gradients equal the contiguous model's (in float32 training
    amplifies the layouts' different roundings, so weights are compared within one layout),
    and two runs give identical weights."""
    import copy

    import torch.nn.functional as F

    torch.set_num_threads(1)
    model = build_model("resnet50", "randn", num_classes=10, width=0.125, seed=0).double().train()
    nhwc = copy.deepcopy(model).to(memory_format=torch.channels_last)
    x, y = (torch.rand(16, 3, 48, 48, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
            torch.arange(16) % 10)
    losses = [F.cross_entropy(m(x.to(memory_format=f)), y)
              for m, f in ((model, torch.contiguous_format), (nhwc, torch.channels_last))]
    assert losses[0].item() == pytest.approx(losses[1].item(), rel=1e-10)
    for loss in losses:
        loss.backward()
    grads = dict(nhwc.named_parameters())
    for name, p in model.named_parameters():
        assert (p.grad - grads[name].grad).norm() <= 1e-8 * p.grad.norm() + 1e-12, name
    data, val = ObjectShapes(64, 48, seed=0), ObjectShapes(16, 48, seed=1)
    for name in ("a", "b"):
        cfg = TrainConfig("resnet50", "randn", seed=0, width=0.125, epochs=1, batch_size=32, lr=0.01,
                          memory_format="channels_last")
        train(cfg, data, val, tmp_path / name, tmp_path / name / "state.pt", progress=False)
    a, b = (weights(tmp_path / n / "epoch_001.pt") for n in ("a", "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="unknown memory_format 'nhwc'"):
        TrainConfig("vgg19", memory_format="nhwc")


def test_object_shapes_are_seeded_and_balanced():
    a, b = ObjectShapes(40, 48, seed=5), ObjectShapes(40, 48, seed=5)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, ObjectShapes(40, 48, seed=6).images)
    assert torch.bincount(a.labels).tolist() == [4] * 10
    assert 0 <= float(a.images.min()) and float(a.images.max()) <= 1


def test_saliency_trains_and_its_checkpoint_measures_ppp(tmp_path):
    """One epoch of the VGG16 saliency model on tiny procedural data: the checkpoint
    rebuilds itself, carries the weighted F-measure and feeds the PPP measurement."""
    torch.set_num_threads(1)
    cfg = TrainConfig("vgg16", "zeros", seed=0, width=0.125, epochs=1, batch_size=16, lr=0.05, task="saliency",
                      model_kwargs={"batch_norm": True})
    log = train(cfg, SalientObjects(64, 48, seed=0), SalientObjects(16, 48, seed=1), tmp_path, tmp_path / "state.pt",
                progress=False)
    assert len(log) == 1 and 0 < log[0]["train_loss"] < 1 and log[0]["train_acc"] == "" and log[0]["val_acc"] == ""
    model = load_checkpoint(tmp_path / "epoch_001.pt")
    meta = model.checkpoint_meta
    assert type(model).__name__ == "SaliencyVGG" and meta["performance_metric"] == "weighted_f"
    assert (0 <= meta["performance"] <= 1 and "val_acc" not in meta
            and meta["performance"] == pytest.approx(log[0]["performance"], abs=1e-6))

    assert load_checkpoint(tmp_path / "epoch_000.pt").checkpoint_meta["performance_metric"] == "weighted_f"
    size = 48
    big = align(model, size).big_size
    images = [torch.rand(3, *big, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    results = measure_ppp(model, images, size, batch_size=2)
    assert list(results) == ["block2", "block3", "block4", "block5"]
    assert all(r.mae_ppp > 0 for r in results.values())


def test_learning_rate_warms_up_then_decays_to_zero():
    cfg = TrainConfig("vgg19", lr=0.1, epochs=4, warmup_epochs=1)
    lrs = [learning_rate(cfg, s, 10) for s in range(40)]
    assert lrs[:10] == pytest.approx([0.01 * (i + 1) for i in range(10)])
    assert (lrs[10] == pytest.approx(0.1) and all(a > b for a, b in zip(lrs[10:-1], lrs[11:], strict=True))
            and lrs[-1] < 1e-3)

    assert learning_rate(TrainConfig("vgg19", lr=0.1, warmup_epochs=0), 0, 10) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown task"):
        TrainConfig("vgg19", task="detection")
