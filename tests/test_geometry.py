import itertools
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pppcore.geometry import Axis, GeometryError, shortcut_slice, trace_chain
from pppcore.models.layers import PadConv2d

CASES = [c for c in itertools.product(range(9, 23, 3), (1, 2, 3, 5), (1, 2), (0, 1, 2), (1, 2)) if c[3] <= (c[1] - 1) * c[4]]


@pytest.mark.parametrize("size,kernel,stride,pad,dilation", random.Random(0).sample(CASES, 40))
def test_axis_matches_a_real_convolution(size, kernel, stride, pad, dilation):
    """Size, principal point and receptive field agree with what autograd sees."""
    axis = Axis(size).through(kernel, stride, pad, dilation)
    x = torch.randn(1, 1, 1, size, requires_grad=True)
    w = torch.rand(1, 1, 1, kernel) + 0.1
    y = F.conv2d(x, w, stride=(1, stride), padding=(0, pad), dilation=(1, dilation))
    assert y.shape[-1] == axis.size
    for o in range(axis.size):
        (g,) = torch.autograd.grad(y[..., o].sum(), x, retain_graph=True)
        used = g[0, 0, 0].nonzero().flatten()
        lo, hi = axis.receptive_field(o)
        centre = axis.offset + axis.stride * o
        assert lo <= used.min() and used.max() <= hi
        taps = [o * stride - pad + t * dilation for t in range(kernel)]
        assert centre == (taps[0] + taps[-1]) / 2  # principal point = centre of the taps


def test_chain_composes_offsets_and_strides():
    layers = [("a", PadConv2d(1, 1, 3, 2, 1)), ("b", PadConv2d(1, 1, 3, 1, 0)), ("c", PadConv2d(1, 1, 3, 2, 1))]
    record = {}
    out = trace_chain(layers, Axis(32), record=record)
    # a: o*2 - 1 + 1 = 2o; b: 2(o + 1); c: 2(2o - 1 + 1 + 1) = 4o + 2.
    assert (record["a"].offset, record["b"].offset, out.offset) == (0, 2, 2)
    assert out.stride == 4 and out.size == 7
    padless = trace_chain(layers, Axis(32), padless=True)
    assert padless.offset == 1 + 2 * 1 + 2 * 1 and padless.size == 6  # each (k-1)/2 at the input stride


def test_stride_two_shortcut_starts_on_the_odd_pixel():
    main = [("conv1", PadConv2d(1, 1, 1)), ("conv2", PadConv2d(1, 1, 3, 2, 0)), ("conv3", PadConv2d(1, 1, 1))]
    s = shortcut_slice(main, 20)
    assert (s.start, s.stop) == (1, 1 + 2 * (9 - 1) + 1)
    padded = [("conv2", PadConv2d(1, 1, 3, 2, 1))]
    assert shortcut_slice(padded, 20).start == 0


def test_unknown_layers_and_empty_maps_are_errors():
    with pytest.raises(GeometryError, match="no geometry rule for Upsample at up"):
        trace_chain([("up", nn.Upsample(scale_factor=2))], Axis(8))
    with pytest.raises(GeometryError, match="layer c .* gets a 2-px map"):
        trace_chain([("c", PadConv2d(1, 1, 3))], Axis(2))
