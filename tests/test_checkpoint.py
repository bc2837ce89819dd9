import pytest
import torch
import torchvision

from pppcore import build_model
from pppcore.checkpoint import load_checkpoint, save_checkpoint

from helpers import small_model


def test_round_trip_rebuilds_the_model(tmp_path):
    model = small_model("efficientnet_b0", "randn")
    path = tmp_path / "ckpt" / "e.pt"
    save_checkpoint(path, model, epoch=0)
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    ours, theirs = model.state_dict(), loaded.state_dict()
    assert list(ours) == list(theirs) and len(ours) > 0  # zip alone would pass a model missing layers
    assert all(torch.equal(a, b) for a, b in zip(ours.values(), theirs.values(), strict=True))
    assert [p.name for p in path.parent.iterdir()] == ["e.pt"]  # no temp file left behind


def test_torchvision_state_dict_loads(tmp_path):
    path = tmp_path / "tv.pt"
    torch.save(torchvision.models.resnet50().state_dict(), path)
    model = load_checkpoint(path, build_model("resnet50"))
    assert model.arch == "resnet50"
    with pytest.raises(ValueError, match="bare state_dict"):
        load_checkpoint(path)


def test_width_mismatch_is_explained(tmp_path):
    path = tmp_path / "narrow.pt"
    save_checkpoint(path, small_model("vgg19"))
    with pytest.raises(ValueError, match="narrow.pt does not fit vgg19 \\(width 1.0\\)"):
        load_checkpoint(path, build_model("vgg19"))
