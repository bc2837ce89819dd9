import pytest
import torch
import torchvision

from pppcore import build_model
from pppcore.models.layers import PadConv2d

from helpers import WIDTHS, small_model

TORCHVISION = {
    ("vgg16", False): torchvision.models.vgg16,
    ("vgg19", False): torchvision.models.vgg19,
    ("vgg19", True): torchvision.models.vgg19_bn,
    ("resnet50", None): torchvision.models.resnet50,
    ("efficientnet_b0", None): torchvision.models.efficientnet_b0,
}


@pytest.mark.parametrize("arch,batch_norm", list(TORCHVISION))
def test_torchvision_keys_shapes_and_logits(arch, batch_norm):
    torch.manual_seed(0)
    reference = TORCHVISION[(arch, batch_norm)]().eval()
    kwargs = {} if batch_norm is None else {"batch_norm": batch_norm}
    ours = build_model(arch, "zeros", **kwargs).eval()
    theirs = reference.state_dict()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.items()}
    ours.load_state_dict(theirs)
    # Non-trivial BN statistics, so a misplaced norm or activation would show.
    with torch.no_grad():
        for m_ref in reference.modules():
            if isinstance(m_ref, torch.nn.BatchNorm2d):
                m_ref.running_mean.uniform_(-0.1, 0.1)
                m_ref.running_var.uniform_(0.5, 1.5)
        ours.load_state_dict(reference.state_dict())
        x = torch.randn(2, 3, 96, 96)
        assert torch.allclose(ours(x), reference(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", list(WIDTHS))
def test_features_are_the_four_layers_of_interest(arch):
    model = small_model(arch)
    feats = model.features(torch.rand(1, 3, 224, 224))
    assert list(feats) == list(model.loi)
    sizes = [f.shape[-1] for f in feats.values()]
    assert sizes == ([112, 56, 28, 14] if arch.startswith("vgg") else [56, 28, 14, 7])


def test_width_scales_channels_and_seed_fixes_weights():
    narrow = build_model("resnet50", width=0.25, seed=3)
    assert narrow.conv1.out_channels == 16 and narrow.fc.in_features == 512
    again = build_model("resnet50", width=0.25, seed=3)
    ours, theirs = narrow.state_dict(), again.state_dict()
    assert list(ours) == list(theirs) and len(ours) > 0  # zip alone would pass a model missing layers
    assert all(torch.equal(a, b) for a, b in zip(ours.values(), theirs.values(), strict=True))
    other = build_model("resnet50", width=0.25, seed=4)
    assert not torch.equal(narrow.conv1.weight, other.conv1.weight)


def test_bad_arguments_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="allowed: vgg16, vgg19, resnet50, efficientnet_b0"):
        build_model("alexnet")
    with pytest.raises(ValueError, match="allowed: zeros, circular"):
        build_model("vgg19", padding="mirror")
    with pytest.raises(ValueError, match="allowed: torchvision, paper"):
        build_model("resnet50", stem="cifar")


def test_padding_none_removes_every_pad():
    model = small_model("resnet50", "none")
    assert all(m.pad.amount == 0 for m in model.modules() if isinstance(m, PadConv2d))
    assert model.maxpool.padding == 0
    assert model.features(torch.rand(1, 3, 512, 512))["layer1"].shape[-1] < 128


def _init_ratios(arch: str, size: int, **kwargs) -> dict[str, float]:
    """MAE-PPP at the last LoI of untrained models, each padding over zeros', on 8 crops."""
    from pppcore import align, measure_ppp
    from pppcore.repro.data.synthetic_tiles import synthetic_mosaics

    big = align(build_model(arch, "zeros", **kwargs), size).big_size
    images = list(synthetic_mosaics(8, max(big), seed=0))
    mae = {}
    for padding in ("zeros", "circular", "reflect", "replicate"):
        model = build_model(arch, padding, num_classes=10, seed=0, init="pytorch_default", **kwargs).eval()
        mae[padding] = list(measure_ppp(model, images, size, batch_size=4, progress=False).values())[-1].mae_ppp
    return {p: v / mae["zeros"] for p, v in mae.items() if p != "zeros"}


def test_pytorch_default_init_reproduces_the_papers_init_pattern():
    """Table 2's init rows: a random VGG reads 0.0000 for every padding but zeros (its
    features collapse to per-channel constants under PyTorch's layer defaults), a random
    ResNet50 does not (its shortcuts carry the input)."""
    vgg = _init_ratios("vgg19", 128, width=0.125, batch_norm=True)
    assert max(vgg.values()) <= 1e-3, vgg
    resnet = _init_ratios("resnet50", 128, width=0.25)
    assert min(resnet.values()) >= 0.05, resnet


def test_init_is_recorded_and_checked():
    assert build_model("vgg19", "zeros", width=0.125, init="pytorch_default").config["init"] == "pytorch_default"
    assert build_model("resnet50", "zeros", width=0.25).config["init"] == "torchvision"
    with pytest.raises(ValueError, match="init"):
        build_model("vgg19", "zeros", width=0.125, init="xavier")
    a = build_model("vgg19", "zeros", width=0.125, seed=0, init="pytorch_default")
    b = build_model("vgg19", "zeros", width=0.125, seed=0)
    wa, wb = (next(m.weight for m in x.modules() if isinstance(m, torch.nn.Conv2d)) for x in (a, b))
    assert wa.std() < 0.8 * wb.std()  # kaiming_uniform(a=sqrt(5)) vs kaiming_normal(fan_out)
