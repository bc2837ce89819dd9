"""pppcore.graph: any converted CNN is aligned, twinned and measured exactly.

Ten torchvision architectures at random init, in CPU-sized variants where the geometry
allows (DenseNet-121's layers at a quarter of its growth rate; ConvNeXt with layer scale 1, so
its padded 7x7 convs are not scaled down to 1e-6 at init): what holds for the built-in
models (tests/test_twin.py) must hold for each of them, with no per-architecture code.
"""

import contextlib

import pytest
import torch
from torch import nn
from torchvision import models as tvm
from torchvision.ops import SqueezeExcitation

from pppcore import align, build_model, convert, make_twin, measure_ppp
from pppcore.alignment import Margins
from pppcore.geometry import Axis, GeometryError, trace_chain
from pppcore.models.base import calibrate_batchnorm
from pppcore.twin import has_padding

from helpers import big_image, interior_mask, paired_features, periodic_image, shifted_diff, small_model, tolerance

SIZE = 96
NAMES = ("resnet18", "resnet50", "vgg19_bn", "efficientnet_b0", "mobilenet_v3_small", "regnet_y_400mf", "convnext_tiny",
         "densenet121", "shufflenet_v2_x1_0", "googlenet")
# Beyond torchvision: timm's DLA-34 merges a pooled shortcut centred a pixel off its conv
# branch (the merged feature sees the union of both receptive fields).
EXTRA = ("timm:dla34",)


def torchvision_model(name: str, se: bool = True) -> nn.Module:
    torch.manual_seed(0)
    if name.startswith("timm:"):
        import timm

        model = timm.create_model(name[5:], pretrained=False, num_classes=10)
    elif name == "densenet121":
        model = tvm.DenseNet(growth_rate=8, block_config=(6, 12, 24, 16), num_init_features=16, num_classes=10)
    elif name == "googlenet":
        model = tvm.googlenet(weights=None, aux_logits=False, init_weights=True, num_classes=10)
    elif name == "convnext_tiny":
        model = tvm.convnext_tiny(weights=None, layer_scale=1.0, num_classes=10)
    else:
        model = getattr(tvm, name)(weights=None, num_classes=10)
    if not se:  # SE pools over the whole map: no position is free of padding (the built-in tests drop it too)
        for parent in list(model.modules()):
            for child_name, child in parent.named_children():
                if isinstance(child, SqueezeExcitation):
                    setattr(parent, child_name, nn.Identity())
    return model.eval()


def converted(name: str, padding: str = "zeros", se: bool = True, **kwargs) -> nn.Module:
    model = convert(torchvision_model(name, se), padding, arch=name, **kwargs)
    batches = (torch.rand(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(s)) for s in range(2))
    calibrate_batchnorm(model, batches)
    return model


BUILT_IN = [("resnet50", "resnet50"), ("vgg19", "vgg19_bn"), ("efficientnet_b0", "efficientnet_b0")]


@pytest.mark.parametrize("arch, name", BUILT_IN)
def test_alignment_equals_the_built_in_models(arch, name):
    """The two engines agree: paper App. A at 224 px (619 / (213, 182), 460 / (118, 118),
    1043 / (425, 394)) derived from the traced graph, and the same at other sizes."""
    builtin = small_model(arch, calibrate=False, **({"batch_norm": True} if arch == "vgg19" else {}))
    taps = dict(builtin.loi) if arch == "vgg19" else None  # VGG's LoIs are block ends; the others' are the default taps
    model = convert(torchvision_model(name), arch=name, taps=taps)
    for size in (224, 64, 97, (96, 160)):
        ours, theirs = align(model, size), align(builtin, size)
        assert ours.big_size == theirs.big_size and ours.input_margins == theirs.input_margins, size
        assert list(ours.loi_margins.values()) == list(theirs.loi_margins.values()), size
        assert [ours.loi_sizes[a] for a in ours.loi_sizes] == [theirs.loi_sizes[b] for b in theirs.loi_sizes], size
        if size == 224:
            expected = {"resnet50": 619, "vgg19": 460, "efficientnet_b0": 1043}[arch]
            assert ours.big_size == (expected, expected)


def padless_geometry(model, size: int) -> dict:
    """The built-in twin's geometry as far as a ``size``-px input reaches (past the taps it may not)."""
    record = {}
    with contextlib.suppress(GeometryError):
        trace_chain(((name, model.child(name)) for name in model.trunk), Axis(size), "", record, padless=True)
    return record


@pytest.mark.parametrize("arch, taps", [("resnet50", {"a": "layer1", "b": "layer2"}),
                                        ("efficientnet_b0", {"a": "features.2", "b": "features.3"})])
def test_twin_without_alignment_equals_the_built_in_ones(arch, taps):
    """``make_twin(converted)`` needs no alignment: padding-free, the model's own tensors, crops
    derived from each input's size. With the built-in model's weights it computes what the
    built-in twin does (ResNet's shortcut crops, EfficientNet's SE pooled over the whole map)."""
    builtin = build_model(arch, "zeros", num_classes=10).eval()
    tv = torchvision_model(arch)
    tv.load_state_dict(builtin.state_dict())
    model = convert(tv, arch=arch, taps=taps)
    twin = make_twin(model)
    assert twin is make_twin(model) and twin.padding == "none" and has_padding(model) and not has_padding(twin)
    pairs = ((model.named_parameters(), twin.named_parameters()), (model.named_buffers(), twin.named_buffers()))
    for ours, theirs in pairs:
        ours, theirs = list(ours), list(theirs)
        assert [n for n, _ in ours] == [n for n, _ in theirs]
        assert all(p is q for (_, p), (_, q) in zip(ours, theirs, strict=True))
    x = torch.rand(2, 3, 128, 144, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = twin.features(x), make_twin(builtin).features(x, taps)
    height, width = padless_geometry(builtin, 128), padless_geometry(builtin, 144)
    for name, path in taps.items():
        assert ours[name].shape[-2:] == (height[path].size, width[path].size), name
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-5, atol=1e-6)
    with pytest.raises(GeometryError, match="twin cannot run on a 64-px input"):
        twin.features(x[..., :64, :64])


def test_default_taps_are_block_outputs_at_strides_4_to_32():
    model = convert(torchvision_model("resnet50"))
    assert model.loi == {"stride4": "layer1_2_relu_2", "stride8": "layer2_3_relu_2", "stride16": "layer3_5_relu_2",
                         "stride32": "layer4_2_relu_2"}
    chosen = convert(torchvision_model("resnet50"), taps={"a": "layer2", "b": "layer3.1.conv2"})
    assert chosen.loi == {"a": "layer2_3_relu_2", "b": "layer3_1_conv2"}
    with pytest.raises(GeometryError, match="tap 'x': no node or module 'layer9'"):
        convert(torchvision_model("resnet18"), taps={"x": "layer9"})


@pytest.mark.parametrize("name", NAMES + EXTRA)
def test_interior_exact_border_not_and_one_pixel_off_breaks_it(name):
    model = converted(name, se=False)
    alignment = align(model, SIZE)
    image = big_image(alignment)
    _, regular, twin = paired_features(model, SIZE, image, alignment)
    interior = 0
    for tap, a in regular.items():
        m = alignment.loi_margins[tap]
        diff = shifted_diff(twin[tap], a, m.top, m.left).amax(dim=(0, 1))
        inside = interior_mask(alignment, alignment.loi_paths[tap])
        tol = tolerance(a)
        assert diff[~inside].max() > 100 * tol, f"{tap}: padding left no trace at the border"
        if inside.any():
            interior += 1
            assert diff[inside].max() <= tol, f"{tap}: interior differs by {diff[inside].max():.3g}"
            for dy, dx in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
                off = shifted_diff(twin[tap], a, m.top, m.left, dy, dx).amax(dim=(0, 1))
                assert off.max() > 100 * tol, f"{tap}: margin shifted by {(dy, dx)} still matches"
    assert interior >= 1
    tap = next(iter(regular))  # the input margin one pixel off breaks the first tap's interior too
    m, im = alignment.loi_margins[tap], alignment.input_margins
    inside = interior_mask(alignment, alignment.loi_paths[tap])
    with torch.no_grad():
        shifted = model.features(image[..., im.top + 1 : im.top + 1 + SIZE, im.left : im.left + SIZE])[tap]
    assert shifted_diff(twin[tap], shifted, m.top, m.left).amax(dim=(0, 1))[inside].max() > 100 * tolerance(shifted)


# GoogLeNet's unpadded ceil-mode pools add a window that hangs over the bottom/right edge, a
# one-sided border no circular pad wraps: its periodic maps cannot be exact there.
@pytest.mark.parametrize("name", [n for n in NAMES + EXTRA if n != "googlenet"])
def test_circular_on_a_periodic_image_is_exact_at_every_tap_and_position(name):
    period = 96  # divisible by the total stride 32; ConvNeXt's 7x7 circular pad needs 3-px maps
    model = converted(name, "circular")  # SE kept: the twin pools over the aligned region only
    alignment = align(model, period)
    _, regular, twin = paired_features(model, period, periodic_image(alignment, period), alignment)
    for tap, a in regular.items():
        m = alignment.loi_margins[tap]
        assert shifted_diff(twin[tap], a, m.top, m.left).max() <= tolerance(a), tap
        off = shifted_diff(twin[tap], a, m.top, m.left, 0, 1 if m.left == 0 else -1)
        assert off.max() > 100 * tolerance(a), f"{tap}: a one-pixel shift still matches"


@pytest.mark.parametrize("name", ["resnet18", "regnet_y_400mf", "shufflenet_v2_x1_0", "googlenet", "timm:dla34"])
def test_gradient_probe_gives_exactly_the_receptive_field(name):
    model = converted(name, se=False).double()
    alignment = align(model, 64)
    twin = make_twin(model, alignment).eval()
    image = big_image(alignment).double().requires_grad_(True)
    feats = twin.features(image)
    for tap, path in alignment.loi_paths.items():
        m, (rh, rw) = alignment.loi_margins[tap], alignment.loi_sizes[tap]
        i, j = m.top + (rh - 1) // 2, m.left + (rw - 1) // 2
        (grad,) = torch.autograd.grad(feats[tap][0, :, i, j].sum(), image, retain_graph=True)
        nonzero = grad.abs().sum((0, 1)) > 0
        (r0, r1), (c0, c1) = [tuple(int(v) for v in axis.twin[path].receptive_field(k))
                              for axis, k in zip(alignment.axes, (i, j), strict=True)]
        rows, cols = nonzero.any(1).nonzero(), nonzero.any(0).nonzero()
        box = (rows.min(), rows.max(), cols.min(), cols.max())
        assert box == (r0, r1, c0, c1), f"{tap}: gradient box differs from the receptive field"


def test_measure_ppp_on_a_converted_model_equals_the_built_in_one():
    """Same weights in torchvision's ResNet50 and ours: the same PPP numbers, tap for tap."""
    builtin = build_model("resnet50", "zeros", num_classes=10, width=1.0).eval()
    tv = torchvision_model("resnet50")
    tv.load_state_dict(builtin.state_dict())
    model = convert(tv, arch="resnet50")
    images = [torch.rand(3, 700, 700, generator=torch.Generator().manual_seed(s)) for s in range(2)]
    ours, theirs = measure_ppp(model, images, 64), measure_ppp(builtin, images, 64)
    assert len(ours) == len(theirs) == 4
    for a, b in zip(ours.values(), theirs.values(), strict=True):
        assert a.mae_ppp > 0
        assert a.mae_ppp == pytest.approx(b.mae_ppp, rel=1e-4) and a.snr_ppp == pytest.approx(b.snr_ppp, rel=1e-4)


def test_the_twin_is_reused_while_the_model_holds_the_same_tensors():
    """measure_ppp asks for the twin on every call: built once per crops, rebuilt when the
    model's tensors change (another device, new buffers) or its taps do."""
    model = convert(torchvision_model("resnet18"), arch="resnet18")
    twin = make_twin(model, align(model, 64))
    assert make_twin(model, align(model, 64)) is twin and twin.padding == "none"
    assert make_twin(model, align(model, 65)) is twin  # sigma is 217 at any size: the same crops
    taps = dict(model.loi)
    model.loi = {"s8": taps["stride8"]}
    assert make_twin(model, align(model, 64)).loi == {"s8": taps["stride8"]}
    model.loi = taps
    model.bn1.running_var = model.bn1.running_var.clone()  # what .to(device) does to buffers
    rebuilt = make_twin(model, align(model, 64))
    assert rebuilt is not twin and rebuilt.bn1.running_var is model.bn1.running_var
    images = [torch.rand(3, 470, 470, generator=torch.Generator().manual_seed(s)) for s in range(2)]
    first, again = measure_ppp(model, images, 64), measure_ppp(model, images, 64)
    assert [r.mae_ppp for r in first.values()] == [r.mae_ppp for r in again.values()]


class TinyViT(nn.Module):
    """Patch embedding, then one attention block over the tokens, then back to a grid."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 16, 3, padding=1)
        self.attention = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x):
        x = self.embed(x)
        n, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        tokens = self.attention(tokens, tokens, tokens)[0]
        return self.head(tokens.transpose(1, 2).reshape(n, c, h, w))


class MixerBlock(nn.Module):
    """MLP-mixer style token mixing along the width: a Linear over a spatial axis."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.mix = nn.Linear(32, 32)

    def forward(self, x):
        return self.mix(self.conv(x))


def test_what_mixes_positions_is_refused_naming_the_node():
    with pytest.raises(GeometryError, match="node flatten .*sequence.*pass taps="):
        convert(TinyViT(), probe_size=16)
    with pytest.raises(GeometryError, match="tap 'out' .*node flatten"):
        convert(TinyViT(), taps={"out": "head"}, probe_size=16)
    before_tokens = convert(TinyViT(), taps={"embed": "embed"}, probe_size=16)  # fine
    assert before_tokens.loi == {"embed": "embed"}
    with pytest.raises(GeometryError, match="node mix .*fails on a"):
        convert(MixerBlock(), probe_size=32)
    transposed = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Upsample(scale_factor=2),
                               nn.Conv2d(4, 4, 3, padding=1))
    with pytest.raises(GeometryError, match="node _1 .*Upsample"):
        convert(transposed)


class ExplicitPad(nn.Module):
    """A user model that pads with F.pad before an unpadded conv (as hand-written nets do)."""

    def __init__(self, amounts=(1, 1, 1, 1)) -> None:
        super().__init__()
        self.amounts = list(amounts)
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2)
        self.conv2 = nn.Conv2d(8, 8, 3)

    def forward(self, x):
        x = self.conv1(torch.nn.functional.pad(x, self.amounts))
        return self.conv2(torch.nn.functional.pad(torch.relu(x), self.amounts))


def test_explicit_f_pad_comes_under_the_policy():
    torch.manual_seed(0)
    model = ExplicitPad().eval()
    x = torch.rand(1, 3, 40, 40)
    zeros, circular = convert(model, "zeros"), convert(model, "circular")
    assert list(zeros.state_dict()) == list(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(zeros(x), model(x))
        reference = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, padding_mode="circular"), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, 1, 1, padding_mode="circular"))
        reference[0].load_state_dict(model.conv1.state_dict())
        reference[2].load_state_dict(model.conv2.state_dict())
        torch.testing.assert_close(circular(x), reference(x))
    alignment = align(zeros, 32)
    # 1 px of pad at stride 1 plus 1 px at stride 2 before the last conv: 3 px on top; the 34-px
    # padded input loses its last pixel to the stride-2 window, so 2 at the bottom.
    assert alignment.input_margins == Margins(3, 3, 2, 2) and alignment.big_size == (37, 37)
    _, regular, twin = paired_features(zeros, 32, big_image(alignment), alignment)
    (tap, a), = regular.items()
    m = alignment.loi_margins[tap]
    diff = shifted_diff(twin[tap], a, m.top, m.left).amax(dim=(0, 1))
    inside = interior_mask(alignment, alignment.loi_paths[tap])
    assert inside.sum() == 13 * 13 and diff[inside].max() <= tolerance(a) < diff[~inside].max() / 100
    with pytest.raises(GeometryError, match=r"node pad .*explicit F.pad .*timm"):
        convert(ExplicitPad((0, 1, 0, 1)))
