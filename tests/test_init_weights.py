"""train.archs.<arch>.init_weights: training starts from a weights file's convolutional trunk."""

import hashlib

import pytest
import torch

from pppcore.checkpoint import load_checkpoint
from pppcore.models import build_model
from pppcore.repro.init_weights import load_trunk
from pppcore.repro.train import TrainConfig, train_job

KEY = "train.archs.vgg16.init_weights"
RECIPE = {"epochs": 1, "ckpt_every": 1, "batch_size": 16, "lr": 0.05, "n_train": 32, "n_val": 8, "image_size": 48}


def saliency_vgg16(batch_norm, seed=0, width=0.125):
    return build_model("vgg16", "zeros", task="saliency", batch_norm=batch_norm, width=width, seed=seed)


def weights_file(tmp_path, batch_norm=True, width=0.125, drop=None, add=None, nest=None):
    """A torchvision-format file (``features.*`` + a classifier) from a VGG16 of another seed."""
    state = {k: v
             for k, v in build_model("vgg16", "zeros", num_classes=10, width=width, batch_norm=batch_norm,
                                     seed=7).state_dict().items()
             if k != drop}
    if add:
        state[add] = torch.zeros(3)
    path = tmp_path / "vgg16.pth"
    torch.save({nest: state} if nest else state, path)
    return path, state


def trunk(state):
    return {k: v for k, v in state.items() if k.startswith("features.")}


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("nest", [None, "state_dict", "model"])
def test_trunk_comes_from_the_file_and_the_head_keeps_its_init(tmp_path, batch_norm, nest):
    path, state = weights_file(tmp_path, batch_norm, nest=nest)
    model, fresh = saliency_vgg16(batch_norm), saliency_vgg16(batch_norm)
    meta = load_trunk(model, path, key=KEY)
    loaded = model.state_dict()
    assert meta == {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "keys": len(trunk(state))}
    assert (trunk(loaded).keys() == trunk(state).keys()
            and all(torch.equal(loaded[k], v) for k, v in trunk(state).items()))
    head = {k: v for k, v in fresh.state_dict().items() if not k.startswith("features.")}
    assert head and all(torch.equal(loaded[k], v) for k, v in head.items())
    # another seed: really loaded
    assert not torch.equal(fresh.state_dict()["features.0.weight"], loaded["features.0.weight"])


def test_torchvision_vgg16_keys_fit_the_model():
    """The real format: torchvision's own VGG16 trunk (with and without BN) matches ours key for key."""
    vgg = pytest.importorskip("torchvision.models.vgg")
    for batch_norm in (False, True):
        theirs = {k: v.shape for k, v in vgg.make_layers(vgg.cfgs["D"], batch_norm=batch_norm).state_dict().items()}
        ours = {k: v.shape
                for k, v in trunk(build_model("vgg16", task="saliency", batch_norm=batch_norm).state_dict()).items()}

        assert {f"features.{k}": s for k, s in theirs.items()} == ours


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{KEY}.*nothere.pth"):
        load_trunk(saliency_vgg16(True), tmp_path / "nothere.pth", key=KEY)


def test_file_lacking_a_trunk_key(tmp_path):
    path, _ = weights_file(tmp_path, drop="features.7.weight")
    with pytest.raises(ValueError, match=rf"{KEY}.*vgg16\.pth.*'features\.7\.weight'"):
        load_trunk(saliency_vgg16(True), path, key=KEY)


def test_old_bn_files_without_num_batches_tracked_load(tmp_path):
    path, _ = weights_file(tmp_path, drop="features.1.num_batches_tracked")
    assert load_trunk(saliency_vgg16(True), path, key=KEY)["keys"] == len(trunk(saliency_vgg16(True).state_dict())) - 1


def test_file_with_an_unexpected_trunk_key(tmp_path):
    path, _ = weights_file(tmp_path, add="features.99.weight")
    with pytest.raises(ValueError, match=rf"{KEY}.*'features\.99\.weight'"):
        load_trunk(saliency_vgg16(True), path, key=KEY)
    path, _ = weights_file(tmp_path, batch_norm=True)  # a vgg16_bn file for a VGG16 without BN
    with pytest.raises(ValueError, match=rf"{KEY}.*'features\.2\.weight'.*batch_norm"):
        load_trunk(saliency_vgg16(False), path, key=KEY)


def test_wrong_width(tmp_path):
    path, _ = weights_file(tmp_path, width=0.25)
    model = saliency_vgg16(True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=rf"{KEY}.*vgg16\.pth.*'features\.0\.weight'.*\(16, 3, 3, 3\).*\(8, 3, 3, 3\)"):
        load_trunk(model, path, key=KEY)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())  # nothing half-loaded


def test_from_config_keeps_init_weights_out_of_the_model_options():
    entry = {"width": 0.125, "task": "saliency", "batch_norm": True, "init_weights": "vgg16.pth"}
    cfg = TrainConfig.from_config("vgg16", "zeros", 0, entry, RECIPE)
    assert (cfg.init_weights == "vgg16.pth" and "init_weights" not in cfg.model_kwargs
            and cfg.model_kwargs["batch_norm"] is True)

    assert TrainConfig.from_config("vgg16", "zeros", 0, {"task": "saliency"}, RECIPE).init_weights is None


def test_train_job_starts_from_the_file_and_records_it(tmp_path):
    torch.set_num_threads(1)
    path, state = weights_file(tmp_path, batch_norm=True)
    cfg = TrainConfig("vgg16", width=0.125, epochs=1, batch_size=16, lr=0.05, task="saliency",
                      model_kwargs={"batch_norm": True}, init_weights=str(path), n_train=32, n_val=8, image_size=48)
    out, ckpts = tmp_path / "out", [tmp_path / "out" / f"epoch_{e:03d}.pt" for e in (0, 1)]
    out.mkdir()
    train_job(cfg, tmp_path / "state", ckpts, out / "log.csv")
    init = load_checkpoint(ckpts[0])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert init.checkpoint_meta["init_weights"] == {"path": str(path), "sha256": sha, "keys": len(trunk(state))}
    assert all(torch.equal(init.state_dict()[k], v) for k, v in trunk(state).items())
    assert load_checkpoint(ckpts[1]).checkpoint_meta["init_weights"]["sha256"] == sha
    path.unlink()  # a resume never reads the file again
    train_job(cfg, tmp_path / "state", ckpts, out / "log.csv")
    assert load_checkpoint(ckpts[1]).checkpoint_meta["init_weights"]["sha256"] == sha
