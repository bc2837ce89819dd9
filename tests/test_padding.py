import pytest
import torch
import torch.nn.functional as F

from pppcore.models.layers import PadConv2d
from pppcore.padding import PADDINGS, RandnPad2d, make_pad

from helpers import small_model


def test_unknown_scheme_lists_the_allowed_ones():
    with pytest.raises(ValueError) as err:
        make_pad("mirror", 1)
    for name in PADDINGS:
        assert name in str(err.value)


@pytest.mark.parametrize("scheme", ["zeros", "circular", "reflect", "replicate"])
def test_copy_schemes_match_torch(scheme):
    x = torch.randn(2, 3, 6, 7)
    mode = "constant" if scheme == "zeros" else scheme
    assert torch.equal(make_pad(scheme, 2)(x), F.pad(x, [2] * 4, mode=mode))


def test_none_keeps_the_map():
    x = torch.randn(1, 2, 5, 5)
    pad = make_pad("none", 3)
    assert pad.amount == 0 and pad(x) is x


def test_randn_keeps_interior_and_follows_the_nearest_window():
    torch.manual_seed(0)
    # Many channels of one 6x6 map with a known range in the top-left 3x3 window.
    base = torch.rand(6, 6)
    x = base.expand(1, 4000, 6, 6).contiguous()
    out = RandnPad2d(1, window=3, seed=0)(x)
    assert out.shape == (1, 4000, 8, 8)
    assert torch.equal(out[..., 1:7, 1:7], x)
    corner = out[0, :, 0, 0]  # nearest window: rows 0-2, cols 0-2
    win = base[:3, :3]
    mu, sigma = (win.max() + win.min()) / 2, (win.max() - win.min()) / 2
    assert abs(corner.mean() - mu) < 4 * sigma / 4000**0.5 + 1e-6
    assert abs(corner.std() - sigma) < 0.05 * sigma
    bottom_right = out[0, :, 7, 7]  # nearest window: rows 3-5, cols 3-5
    win = base[3:, 3:]
    assert abs(bottom_right.mean() - (win.max() + win.min()) / 2) < 0.05


@pytest.mark.parametrize("amount,window", [(1, 3), (2, 5), (3, 7)])
def test_randn_every_pad_pixel_uses_its_nearest_window(amount, window):
    """Brute force: per pad pixel, the empirical mean/std over many channels match the
    (max + min) / 2 and max - mu of the nearest window of the unpadded map."""
    torch.manual_seed(1)
    h, w = 9, 11
    base = torch.rand(h, w)
    out = RandnPad2d(amount, window=window, seed=3)(base.expand(1, 6000, h, w).contiguous())[0]
    for i in range(-amount, h + amount):
        for j in range(-amount, w + amount):
            if 0 <= i < h and 0 <= j < w:
                continue
            r0 = min(max(i - (window - 1) // 2, 0), h - window)
            c0 = min(max(j - (window - 1) // 2, 0), w - window)
            win = base[r0 : r0 + window, c0 : c0 + window]
            mu, sigma = (win.max() + win.min()) / 2, (win.max() - win.min()) / 2
            sample = out[:, i + amount, j + amount]
            assert abs(sample.mean() - mu) < 5 * sigma / 6000**0.5 + 1e-6, (i, j)
            assert abs(sample.std() - sigma) < 0.06 * sigma, (i, j)


def test_randn_repeats_flat_areas():
    x = torch.full((1, 2, 5, 5), 0.7)
    assert torch.allclose(RandnPad2d(2)(x), torch.full((1, 2, 9, 9), 0.7))


def test_randn_is_seeded_and_stochastic_in_eval():
    x = torch.randn(1, 3, 8, 8)
    a, b = RandnPad2d(1, seed=5).eval(), RandnPad2d(1, seed=5).eval()
    first = a(x)
    assert torch.equal(first, b(x))  # same seed, same draws
    assert not torch.equal(first, a(x))  # eval mode still draws anew


def test_conv_norm_pad_act_order():
    """A randn conv after a BN pads the *pre-activation* and then applies the ReLU."""
    model = small_model("vgg19", "randn", batch_norm=True)
    conv = model.child("features")[3]
    assert isinstance(conv, PadConv2d) and isinstance(conv.act, torch.nn.ReLU)
    assert isinstance(model.child("features")[2], torch.nn.Identity)  # the ReLU moved into conv 3
    seen = {}
    conv.act.register_forward_hook(lambda m, i, o: seen.update(inp=i[0], out=o))
    model(torch.rand(1, 3, 32, 32))
    assert seen["inp"].shape[-1] == 34  # padded before the activation
    assert (seen["inp"] < 0).any() and (seen["out"] >= 0).all()


@pytest.mark.parametrize("scheme", PADDINGS)
def test_one_string_sets_every_layer(scheme):
    for arch in ("vgg19", "resnet50", "efficientnet_b0"):
        model = small_model(arch, scheme)
        pads = {m.pad.scheme for m in model.modules() if isinstance(m, PadConv2d) and m.kernel_size[0] > 1}
        assert pads == {scheme}
