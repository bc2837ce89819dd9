import itertools
import random
from collections import OrderedDict

import pytest
import torch
from torch import nn

from pppcore.geometry import Axis, GeometryError, shortcut_slice, smallest, trace_chain
from pppcore.models.layers import PadConv2d

CASES = [c for c in itertools.product(range(9, 23, 3), (1, 2, 3, 5), (1, 2), (0, 1, 2), (1, 2))
         if c[3] <= (c[1] - 1) * c[4]]


class Conv(nn.Conv2d):
    """A real 1 x k convolution along the last axis, ones for weights, that ``trace`` can read."""

    def __init__(self, kernel: int, stride: int, pad: int, dilation: int) -> None:
        super().__init__(1, 1, (1, kernel), (1, stride), (0, pad), (1, dilation), bias=False)
        nn.init.ones_(self.weight)

    def window(self) -> tuple[int, int, int, int]:
        return self.kernel_size[1], self.stride[1], self.padding[1], self.dilation[1]


def support(layers: nn.Module, n: int) -> list[set[int]]:
    """For each output pixel of ``layers`` on an ``n``-px input, the input pixels it depends on,
    probed one pixel at a time (weights >= 0, no bias: a pixel is used iff its output is > 0)."""
    with torch.no_grad():
        response = layers(torch.eye(n).view(n, 1, 1, n))[:, 0, 0]  # input pixel x output pixel
    return [set(response[:, o].nonzero().flatten().tolist()) for o in range(response.shape[1])]


@pytest.mark.parametrize("size,kernel,stride,pad,dilation", random.Random(0).sample(CASES, 40))
def test_axis_matches_a_real_convolution(size, kernel, stride, pad, dilation):
    """Size from running the conv; principal point and receptive field from a pixel probe,
    exact on both sides: output o uses exactly the pixels lo, lo + d, ..., hi."""
    axis = Axis(size).through(kernel, stride, pad, dilation)
    conv = Conv(kernel, stride, pad, dilation)
    clipped = support(conv, size)
    # The same conv without padding on a (size + 2 pad)-px probe: the padding pixels show too.
    unclipped = support(Conv(kernel, stride, 0, dilation), size + 2 * pad)
    assert len(clipped) == len(unclipped) == axis.size
    for o in range(axis.size):
        lo, hi = axis.receptive_field(o)
        taps = set(range(int(lo), int(hi) + 1, dilation))
        assert (lo, hi) == (min(taps), max(taps)) and len(taps) == kernel, o
        assert unclipped[o] == {i + pad for i in taps}, o
        assert clipped[o] == {i for i in taps if 0 <= i < size}, o
        assert axis.offset + axis.stride * o == (lo + hi) / 2  # principal point = centre of the taps


@pytest.mark.parametrize("seed", range(6))
def test_chain_matches_real_convolutions(seed):
    """Three random layers composed, checked against the real stack on a wider input: with a
    margin m (a multiple of the total stride) around it, output o + m / stride sees, m pixels
    further on, what output o would see with nothing clipped."""
    rng = random.Random(seed)
    layers = [(str(i), Conv(*rng.choice(CASES)[1:])) for i in range(3)]
    net = nn.Sequential(OrderedDict(layers))
    size, margin = 40, 64
    axis = trace_chain(layers, Axis(size))
    used = support(net, size + 2 * margin)
    assert len(support(net, size)) == axis.size and len(used) == axis.size + 2 * margin // axis.stride
    for o in range(axis.size):
        pixels = used[o + margin // axis.stride]
        assert (min(pixels) - margin, max(pixels) - margin) == axis.receptive_field(o), o
        assert axis.offset + axis.stride * o == (min(pixels) + max(pixels)) / 2 - margin


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


@pytest.mark.parametrize("start, limit", [(1, 4096), (64, 64 * 64 + 4096), (7, 100)])
def test_smallest_finds_the_first_success_and_its_result(start, limit):
    for first in sorted({start, start + 1, 97, 1000, limit - 1, limit} & set(range(start, limit + 1))):
        tried: list[int] = []

        def attempt(n: int, first: int = first, tried: list[int] = tried) -> tuple[int] | None:
            tried.append(n)
            return (n,) if n >= first else None

        assert smallest(attempt, start, limit) == (first, (first,))
        assert max(tried) <= limit and len(tried) <= 2 * limit.bit_length() + 2
    assert smallest(lambda n: None, start, limit) is None
    assert smallest(lambda n: n if n == limit else None, start, limit) == (limit, limit)  # the limit itself is tried
