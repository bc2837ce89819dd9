"""The VGG saliency model keeps the classifier's trunk, so PPP alignment and twin are exact."""

import pytest
import torch

from pppcore import align, build_model
from pppcore.checkpoint import load_checkpoint, save_checkpoint
from pppcore.models.base import calibrate_batchnorm

from helpers import PADDED, big_image, interior_mask, paired_features, shifted_diff, tolerance

KW = dict(width=0.125, batch_norm=True, seed=3)


def saliency_model(padding="zeros", calibrate=True):
    model = build_model("vgg16", padding, task="saliency", **KW)
    if calibrate:
        batches = (torch.rand(4, 3, 96, 96, generator=torch.Generator().manual_seed(s)) for s in range(2))
        calibrate_batchnorm(model, batches)
    return model.eval()


def test_trunk_keys_weights_and_alignment_match_the_classifier():
    sal, cls = saliency_model(calibrate=False), build_model("vgg16", "zeros", num_classes=10, **KW)
    trunk = {k: v for k, v in cls.state_dict().items() if k.startswith("features.")}
    sal_state = sal.state_dict()
    assert set(trunk) == {k for k in sal_state if k.startswith("features.")}
    assert all(sal_state[k].shape == v.shape for k, v in trunk.items())
    assert set(sal_state) - set(trunk) == {k for k in sal_state if k.startswith("decoder.")}
    assert sal.loi == cls.loi and sal.trunk == cls.trunk
    for size in (64, 112):
        assert align(sal, size).to_dict() == align(cls, size).to_dict()
    assert sal.config["task"] == "saliency" and sal.config["num_classes"] == 1


@pytest.mark.parametrize("size", [64, 72])
def test_one_logit_per_input_pixel(size):
    model = saliency_model()
    out = model(torch.rand(2, 3, size, size))
    assert out.shape == (2, 1, size, size) and torch.isfinite(out).all()
    feats = model.features(torch.rand(1, 3, size, size))
    assert list(feats) == ["block2", "block3", "block4", "block5"]


@pytest.mark.parametrize("padding", PADDED)
def test_twin_is_exact_in_the_interior(padding):
    """The paper's optimal-padding twin works on the saliency trunk as on any VGG."""
    model = saliency_model(padding)
    alignment = align(model, 96)
    _, regular, twin = paired_features(model, 96, big_image(alignment), alignment)
    checked = 0
    for name, a in regular.items():
        m = alignment.loi_margins[name]
        diff = shifted_diff(twin[name], a, m.top, m.left).amax(dim=(0, 1))
        inside = interior_mask(alignment, alignment.loi_paths[name])
        if inside.any():
            checked += 1
            assert diff[inside].max() <= tolerance(a), f"{name}: interior differs by {diff[inside].max():.3g}"
        assert diff[~inside].max() > 100 * tolerance(a), f"{name}: padding left no trace at the border"
    assert checked >= 2


def test_checkpoint_rebuilds_the_saliency_model(tmp_path):
    model = saliency_model("circular")
    save_checkpoint(tmp_path / "s.pt", model, epoch=1, performance=0.5, performance_metric="weighted_f")
    loaded = load_checkpoint(tmp_path / "s.pt").eval()
    assert type(loaded).__name__ == "SaliencyVGG" and loaded.padding == "circular"
    assert loaded.checkpoint_meta["performance_metric"] == "weighted_f"
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_saliency_is_refused_where_it_is_not_defined():
    with pytest.raises(ValueError, match="for task saliency; allowed: vgg16, vgg19"):
        build_model("resnet50", task="saliency")
    with pytest.raises(ValueError, match="unknown task"):
        build_model("vgg16", task="detection")
