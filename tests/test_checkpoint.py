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


class _RunsCode:
    """Unpickling this calls ``pathlib.Path.touch`` on a marker: code a checkpoint must never run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    marker, crafted = tmp_path / "code_ran", tmp_path / "crafted.pt"
    torch.save({"config": {"arch": "vgg19"}, "state_dict": {}, "payload": _RunsCode(marker)}, crafted)
    torch.load(crafted, weights_only=False)  # what an unsafe loader would do: the payload runs
    assert marker.exists()
    marker.unlink()
    refused = ("it holds Python objects beyond tensors and plain data, GLOBAL getattr; they are refused: "
               "loading them could run code")

    with pytest.raises(ValueError, match=f"checkpoint {crafted}: cannot be read .{refused}"):
        load_checkpoint(crafted)
    assert not marker.exists()


def test_a_training_state_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    from pppcore.repro.data.procedural import ObjectShapes
    from pppcore.repro.train import TrainConfig, train

    marker, state = tmp_path / "code_ran", tmp_path / "state.pt"
    torch.save({"config": {}, "epoch": 1, "payload": _RunsCode(marker)}, state)
    cfg = TrainConfig(arch="vgg19", padding="zeros", seed=0, width=0.125, epochs=1, batch_size=8)
    data = ObjectShapes(8, 32, 10, seed=0)
    with pytest.raises(ValueError,
                       match=f"training state {state} cannot be read; delete it to restart .it holds Python objects"):
        train(cfg, data, data, tmp_path / "out", state)
    assert not marker.exists()
