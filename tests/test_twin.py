"""The twin is exact: zero difference wherever the padding cannot reach, one pixel of error breaks it."""

import pytest
import torch

from pppcore import align, make_twin, metrics

from helpers import (
    MEASURED_ARCHS,
    PADDED,
    big_image,
    interior_mask,
    paired_features,
    periodic_image,
    shifted_diff,
    small_model,
    tolerance,
)

SIZE = 96  # large enough for interior positions at the first two or three LoIs
NO_SE = {"efficientnet_b0": {"squeeze_excitation": False}}


@pytest.mark.parametrize("arch", MEASURED_ARCHS)
@pytest.mark.parametrize("padding", PADDED)
def test_interior_exact_border_not(arch, padding):
    model = small_model(arch, padding, **NO_SE.get(arch, {}))
    alignment = align(model, SIZE)
    _, regular, twin = paired_features(model, SIZE, big_image(alignment), alignment)
    interior_layers = 0
    for name, a in regular.items():
        m = alignment.loi_margins[name]
        diff = shifted_diff(twin[name], a, m.top, m.left).amax(dim=(0, 1))
        inside = interior_mask(alignment, alignment.loi_paths[name])
        tol = tolerance(a)
        if inside.any():
            interior_layers += 1
            assert diff[inside].max() <= tol, f"{name}: interior differs by {diff[inside].max():.3g}"
        assert diff[~inside].max() > 100 * tol, f"{name}: padding left no trace at the border"
    assert interior_layers >= 2


@pytest.mark.parametrize("arch", MEASURED_ARCHS)
def test_margin_off_by_one_breaks_the_interior_check(arch):
    model = small_model(arch, "zeros", **NO_SE.get(arch, {}))
    alignment = align(model, SIZE)
    image = big_image(alignment)
    _, regular, twin = paired_features(model, SIZE, image, alignment)
    checked = 0
    for name, a in regular.items():
        m = alignment.loi_margins[name]
        inside = interior_mask(alignment, alignment.loi_paths[name])
        if not inside.any():
            continue
        checked += 1
        for dy, dx in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
            diff = shifted_diff(twin[name], a, m.top, m.left, dy, dx).amax(dim=(0, 1))
            assert diff.max() > 100 * tolerance(a), f"{name}: LoI margin shifted by {(dy, dx)} still matches"
    assert checked >= 2
    name = next(iter(regular))  # the first LoI has the most interior positions
    m, a = alignment.loi_margins[name], regular[name]
    inside = interior_mask(alignment, alignment.loi_paths[name])
    # Shift the regular crop inside the big crop by one pixel instead (the input margin).
    im = alignment.input_margins
    for dy, dx in [(1, 0), (0, 1), (-1, 0), (0, -1)]:
        top, left = im.top + dy, im.left + dx
        with torch.no_grad():
            shifted = model.features(image[..., top : top + SIZE, left : left + SIZE])[name]
        diff = shifted_diff(twin[name], shifted, m.top, m.left).amax(dim=(0, 1))
        assert diff[inside].max() > 100 * tolerance(a), f"input margin shifted by {(dy, dx)} still matches"


@pytest.mark.parametrize("arch", MEASURED_ARCHS)
def test_circular_on_periodic_image_is_exact_everywhere(arch):
    period = 64  # divisible by the total stride (16 for VGG, 32 for the others)
    model = small_model(arch, "circular")  # EfficientNet keeps SE: its pool region is aligned
    alignment = align(model, period)
    image = periodic_image(alignment, period)
    _, regular, twin = paired_features(model, period, image, alignment)
    for name, a in regular.items():
        m = alignment.loi_margins[name]
        assert shifted_diff(twin[name], a, m.top, m.left).max() <= tolerance(a), name
        # Teeth: the same comparison one pixel off fails (the overlap is never empty).
        off = shifted_diff(twin[name], a, m.top, m.left, 0, 1 if m.left == 0 else -1)
        assert off.max() > 100 * tolerance(a), f"{name}: a one-pixel shift still matches"


@pytest.mark.parametrize("arch", MEASURED_ARCHS)
def test_padding_none_is_its_own_twin(arch):
    model = small_model(arch, "none")
    assert make_twin(model) is model


@pytest.mark.parametrize("arch", MEASURED_ARCHS)
def test_twin_shares_parameters_and_has_no_padding(arch):
    """Every parameter and buffer is the model's own tensor (same names, same count), not a copy."""
    model = small_model(arch, "reflect")
    twin = make_twin(model)
    assert twin is not model
    assert len(list(model.parameters())) > 0
    pairs = ((model.named_parameters(), twin.named_parameters()), (model.named_buffers(), twin.named_buffers()))
    for ours, theirs in pairs:
        ours, theirs = list(ours), list(theirs)  # VGG without BatchNorm has no buffers
        assert [n for n, _ in ours] == [n for n, _ in theirs]
        assert all(p is q for (_, p), (_, q) in zip(ours, theirs, strict=True))
    assert list(model.state_dict()) == list(twin.state_dict())
    assert all(getattr(m, "pad", None) is None or m.pad.amount == 0 for m in twin.modules())
    assert any(getattr(m, "pad", None) is not None and m.pad.amount for m in model.modules())


@pytest.mark.parametrize("arch", MEASURED_ARCHS)
def test_gradient_probe_stays_in_the_receptive_field(arch):
    """The twin's feature at the principal point depends on no pixel outside its receptive field."""
    model = small_model(arch, "zeros", **NO_SE.get(arch, {})).double()
    alignment = align(model, SIZE)
    twin = make_twin(model, alignment).eval()
    image = big_image(alignment).double().requires_grad_(True)
    feats = twin.features(image)
    for name, path in alignment.loi_paths.items():
        m = alignment.loi_margins[name]
        rh, rw = alignment.loi_sizes[name]
        i, j = m.top + (rh - 1) // 2, m.left + (rw - 1) // 2
        (grad,) = torch.autograd.grad(feats[name][0, :, i, j].sum(), image, retain_graph=True)
        nonzero = grad.abs().sum((0, 1)) > 0
        assert nonzero.any()
        box = []
        for axis, idx in zip(alignment.axes, (i, j), strict=True):
            lo, hi = axis.twin[path].receptive_field(idx)
            box.append((int(lo), int(hi)))
        (r0, r1), (c0, c1) = box
        outside = nonzero.clone()
        outside[r0 : r1 + 1, c0 : c1 + 1] = False
        assert not outside.any(), f"{name}: gradient outside the receptive field {box}"
        rows, cols = nonzero.any(1).nonzero(), nonzero.any(0).nonzero()
        assert (rows.min(), rows.max(), cols.min(), cols.max()) == (r0, r1, c0, c1), f"{name}: field smaller than {box}"


def test_se_pools_over_the_aligned_region_only():
    """Circular + periodic is exact with SE only because the twin's SE pools the aligned region."""
    period = 64
    model = small_model("efficientnet_b0", "circular")
    alignment = align(model, period)
    twin = make_twin(model, alignment)
    for name, m in twin.named_modules():
        if hasattr(m, "region"):
            assert m.region == alignment.layer_margins[name].as_tuple()
    assert all(getattr(m, "region", None) is None for m in model.modules())
    whole_map_twin = make_twin(model)  # no alignment: SE pools over the whole twin map
    image = periodic_image(alignment, period)
    with torch.no_grad():
        regular, twin_feats = metrics.paired_features(model, whole_map_twin, alignment, image)
    worst = max(
        float(shifted_diff(twin_feats[k], a, m.top, m.left).max()) / tolerance(a)
        for k, a in regular.items()
        for m in [alignment.loi_margins[k]]
    )
    assert worst > 10  # the periodic image makes the whole-map mean close, but not equal


def test_shortcut_slices_are_traced_once_per_size_and_again_for_the_twin(monkeypatch):
    """A residual block traces where its shortcut starts once per input size; the twin (other
    pads, other slices) traces its own instead of reusing the model's."""
    from pppcore.models import layers

    calls = []
    original = layers.shortcut_slice
    monkeypatch.setattr(layers, "shortcut_slice", lambda main, size: calls.append(size) or original(main, size))
    model = small_model("resnet50", "zeros", calibrate=False)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        model.features(x)
        traced = len(calls)
        model.features(x)
        assert traced > 0 and len(calls) == traced
        twin = make_twin(model)
        twin.features(torch.rand(1, 3, 512, 512))
    assert len(calls) > traced
    starts = {s.start for block in twin.modules() for pair in getattr(block, "_shortcut_slices", {}).values()
              for s in pair}
    assert starts - {0}  # the twin's shortcuts start inside the map
