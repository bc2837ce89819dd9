"""pppcore.convert (pppcore/conversion.py): any torchvision or timm CNN's padding as the project's policy."""

import pytest
import torch
from torch import nn
from torchvision import models as tvm

from pppcore.conversion import convert
from pppcore.geometry import GeometryError
from pppcore.models.layers import PadConv2d, PadMaxPool2d
from pppcore.padding import PADDINGS

# Ten torchvision architectures, random init; input sizes reduced where the net allows.
MODELS = {
    "resnet18": 64, "resnet50": 64, "vgg19_bn": 64, "efficientnet_b0": 64, "mobilenet_v3_small": 64,
    "regnet_y_400mf": 64, "convnext_tiny": 64, "densenet121": 64, "shufflenet_v2_x1_0": 64, "googlenet": 64,
}


def _tv(name: str) -> nn.Module:
    torch.manual_seed(0)
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    return getattr(tvm, name)(weights=None, num_classes=10, **kwargs).eval()


@pytest.mark.parametrize("name", list(MODELS))
def test_zeros_conversion_keeps_keys_and_outputs(name):
    torch.set_num_threads(1)
    model = _tv(name)
    converted = convert(model, "zeros")
    assert list(converted.state_dict()) == list(model.state_dict())
    assert all(converted.state_dict()[k].shape == v.shape for k, v in model.state_dict().items())
    padded = [m for m in model.modules() if type(m) is nn.Conv2d and (m.padding == "same" or any(m.padding))]
    assert padded and not [m for m in converted.modules() if type(m) is nn.Conv2d and any(m.padding)]
    assert sum(isinstance(m, PadConv2d) for m in converted.modules()) == len(padded)
    x = torch.rand(2, 3, MODELS[name], MODELS[name], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(converted(x), model(x), rtol=1e-4, atol=1e-5)
    assert next(model.parameters()).data_ptr() != next(converted.parameters()).data_ptr()  # a copy


@pytest.mark.parametrize("padding", [p for p in PADDINGS if p != "none"])
def test_every_padded_scheme_applies(padding):
    model = _tv("resnet18")
    converted = convert(model, padding)
    schemes = {m.pad.scheme for m in converted.modules() if isinstance(m, PadConv2d)}
    assert schemes == {padding}
    assert any(isinstance(m, PadMaxPool2d) for m in converted.modules())
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = converted(x)
    assert out.shape == (1, 10) and torch.isfinite(out).all()
    if padding != "zeros":
        assert not torch.allclose(out, model(x))


def test_what_cannot_be_a_symmetric_pad_is_refused_with_the_module_name():
    cases = [
        (nn.Sequential(nn.Conv2d(3, 4, (1, 7), padding=(0, 3))), "0: kernel \\(1, 7\\) differs between the axes"),
        (nn.Sequential(nn.Conv2d(3, 4, 4, padding="same")), "0: padding 'same' with kernel 4"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.AvgPool2d(3, 1, padding=1))),
         "1.0: an average pool that pads"),
        (nn.Sequential(nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)),
         "0: a padded max pool with .* ceil_mode at stride 2"),
        (nn.Sequential(nn.ConvTranspose2d(3, 4, 3, padding=1)), "0: ConvTranspose2d pads"),
    ]
    for model, message in cases:
        with pytest.raises(GeometryError, match=message):
            convert(model)
    with pytest.raises(ValueError, match="padding 'none' is the twin itself"):
        convert(nn.Conv2d(3, 3, 3, padding=1), "none")
    with pytest.raises(ValueError, match="mirror"):
        convert(nn.Conv2d(3, 3, 3, padding=1), "mirror")
    same = nn.Sequential(nn.Conv2d(3, 4, 5, padding="same", dilation=2))
    x = torch.rand(1, 3, 20, 20)
    torch.testing.assert_close(convert(same)(x), same(x))


@pytest.mark.parametrize("name, torchvision_name", [("resnet18", "resnet18"), ("efficientnet_b0", "efficientnet_b0"),
                                                    ("mobilenetv3_small_100", "mobilenet_v3_small")])
def test_timm_models_convert_like_their_torchvision_twins(name, torchvision_name):
    """timm builds of the same architectures: outputs kept, the same big crop and margins at 224 px."""
    import timm

    from pppcore import align

    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=10).eval()
    converted = convert(model, "zeros", arch=name)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(converted(x), model(x), atol=1e-5)
    ours, reference = align(converted, 224), align(convert(_tv(torchvision_name)), 224)
    assert ours.big_size == reference.big_size and ours.input_margins == reference.input_margins


def test_timm_run_time_same_padding_is_refused_naming_the_module():
    """tf_* models pad 'same' by a size computed at run time (asymmetric at stride 2): not a policy pad."""
    import timm

    with pytest.raises(GeometryError, match=r"conv_stem \(Conv2dSame\): torch.fx cannot trace it .*'same' padding"):
        convert(timm.create_model("tf_efficientnet_b0", pretrained=False))
