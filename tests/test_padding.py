import functools
import sys
import types

import pytest
import torch
import torch.nn.functional as F

from pppcore import build_model
from pppcore.models.layers import PadConv2d
from pppcore.padding import PADDINGS, NoPad2d, Pad2d, RandnPad2d, make_pad, memory_format_of

from helpers import PADDED, ROOT, WIDTHS, small_model

sys.path.insert(0, str(ROOT / "benchmarks"))
from padding_format import legacy_forward  # noqa: E402  (the pads' forward before they kept the layout)

NHWC, NCHW = torch.channels_last, torch.contiguous_format
# Maps of every kind a pad meets: ordinary, 1 channel, 1 x 1 and 1-pixel-high (both layouts
# alike in places), the smallest a circular pad of 3 takes.
SHAPES = [(2, 5, 6, 7), (2, 1, 6, 6), (3, 8, 1, 1), (2, 8, 1, 5), (2, 8, 5, 1), (2, 4, 3, 3)]


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


def _pair(scheme, amount):
    """The pad and a twin with the same random stream (``randn``: same seed, own generator)."""
    return make_pad(scheme, amount, seed=7), make_pad(scheme, amount, seed=7)


@pytest.mark.parametrize("layout", [NCHW, NHWC], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("scheme", PADDED)
def test_pads_keep_the_values_and_the_input_memory_format(scheme, layout):
    """Bit-identical to the former forward (F.pad; randn: the same draws on the same pixels)
    in both layouts; the output is laid out like the input, an NCHW one exactly as before."""
    for shape in SHAPES:
        for amount in (1, 2, 3):
            x = torch.randn(shape, generator=torch.Generator().manual_seed(amount)).to(memory_format=layout)
            pad, before = _pair(scheme, amount)
            if not pad.fits(min(shape[-2:])):
                with pytest.raises(ValueError):
                    pad(x)
                continue
            for _ in range(2):  # and the next draws of the stream too
                out, ref = pad(x), legacy_forward(before, x)
                assert torch.equal(out, ref), (shape, amount)
                assert memory_format_of(out) == memory_format_of(x) or shape[1] == 1, (shape, amount, out.stride())
                if layout == NCHW:
                    assert out.stride() == ref.stride()


def test_the_layout_of_ambiguous_maps_follows_their_strides():
    one = torch.randn(2, 8, 1, 1)
    # strides (8,1,1,1) / (8,1,8,8)
    assert memory_format_of(one) == NCHW and memory_format_of(one.to(memory_format=NHWC)) == NHWC
    assert memory_format_of(torch.randn(2, 1, 4, 4).to(memory_format=NHWC)) == NCHW  # one channel: the same memory
    assert memory_format_of(torch.randn(2, 8, 4, 4).to(memory_format=NHWC)[..., 1:, :]) == NCHW  # a slice: not dense
    for scheme in ("zeros", "circular", "replicate", "randn"):  # reflect needs 2 px
        assert make_pad(scheme, 1)(one.to(memory_format=NHWC)).stride() == (72, 1, 24, 8)


@pytest.mark.parametrize("layout", [NCHW, NHWC], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("scheme", PADDED)
def test_pad_gradients_are_the_former_ones(scheme, layout):
    """The input gradient too is bit-identical (circular's own backward adds the pad pixels'
    gradients in F.pad's order), and laid out like the input."""
    for shape in SHAPES[:1] + SHAPES[3:]:
        for amount in (1, 3):
            pad, before = _pair(scheme, amount)
            if not pad.fits(min(shape[-2:])):
                continue
            x = torch.randn(shape, dtype=torch.float64).to(memory_format=layout).requires_grad_()
            grads = []
            for forward in (pad, functools.partial(legacy_forward, before)):
                out = forward(x)
                g = torch.randn(out.shape, dtype=torch.float64,
                                generator=torch.Generator().manual_seed(1)).to(memory_format=layout)
                grads.append(torch.autograd.grad(out, x, g)[0])
            assert torch.equal(*grads), (shape, amount)
            assert memory_format_of(grads[0]) == memory_format_of(x)


def _nhwc_legacy(pad, x):
    """The former forward, its output and its input gradient converted to NHWC."""
    if x.requires_grad:
        x.register_hook(lambda g: g.contiguous(memory_format=NHWC))
    return legacy_forward(pad, x).contiguous(memory_format=NHWC)


def _train(arch, scheme, forward=None, steps=3):
    """``steps`` SGD steps of a small NHWC model in train mode; its state, and the layouts of
    every pad's output and input gradient."""
    torch.set_num_threads(1)
    torch.manual_seed(0)  # dropout
    options = {"batch_norm": True} if arch == "vgg19" else {}  # BatchNorm: where the layouts sum differently
    model = build_model(arch, scheme, num_classes=10, width=WIDTHS[arch], seed=0,
                        **options).to(memory_format=NHWC).train()
    layouts = set()
    for m in model.modules():
        if isinstance(m, Pad2d) and not isinstance(m, NoPad2d):
            if forward is not None:
                m.forward = types.MethodType(forward, m)
            m.register_forward_hook(lambda m, i, o: layouts.add(("out", memory_format_of(o))))
            m.register_full_backward_hook(lambda m, gi, go: layouts.add(("grad", memory_format_of(gi[0]))))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x = torch.rand(8, 3, 64, 64, generator=gen).to(memory_format=NHWC)  # no 1 x 1 map: NHWC throughout
        loss = F.cross_entropy(model(x), torch.randint(0, 10, (8,), generator=gen))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.state_dict(), layouts


@pytest.mark.parametrize("arch", ["vgg19", "resnet50"])
def test_nhwc_training_is_the_former_pads_in_nhwc(arch):
    """Training with the pads is bit-identical to training with their former forward whose
    output and input gradient are converted to NHWC: the pads change the layout, nothing
    else. (Against the former pads as they were, circular and randn differ by rounding: their
    NCHW gradients made the BatchNorm before them sum in another order.) No pad hands NCHW
    maps or gradients to an NHWC network any more."""
    for scheme in PADDED:
        state, layouts = _train(arch, scheme)
        assert layouts == {("out", NHWC), ("grad", NHWC)}, scheme
        reference, _ = _train(arch, scheme, _nhwc_legacy)
        assert all(torch.equal(state[k], reference[k]) for k in state), scheme
