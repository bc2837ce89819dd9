import pytest
import torch

from pppcore import align, build_model, make_twin, measure_ppp
from pppcore.alignment import Margins

from helpers import MEASURED_ARCHS, periodic_image, small_model, tolerance

PAPER = {  # paper Appendix A at 224 px: big crop, input (top, bottom), LoI (top, bottom)
    "vgg19": (460, (118, 118), [(56, 56), (24, 24), (8, 8), (0, 0)]),
    "efficientnet_b0": (1043, (425, 394), [(104, 97), (49, 46), (16, 15), (0, 0)]),
}


@pytest.mark.parametrize("arch", list(PAPER))
def test_paper_appendix_a(arch):
    big, (mt, mb), lois = PAPER[arch]
    a = align(small_model(arch), 224)
    assert a.big_size == (big, big)
    assert a.input_margins == Margins(mt, mt, mb, mb)
    assert [(m.top, m.bottom) for m in a.loi_margins.values()] == lois
    assert all(m.left == m.top and m.right == m.bottom for m in a.loi_margins.values())


def test_resnet50_layers_match_paper_and_stems_explain_the_input_crop():
    lois = [(49, 42), (21, 18), (5, 4), (0, 0)]
    tv = align(small_model("resnet50"), 224)
    assert [(m.top, m.bottom) for m in tv.loi_margins.values()] == lois
    # torchvision's 7x7/2 conv + 3x3/2 pool reach 6 px further than the paper's 3x3/2 + 2x2/2.
    assert tv.big_size == (619, 619) and tv.input_margins == Margins(213, 213, 182, 182)
    paper = align(small_model("resnet50", stem="paper"), 224)
    assert paper.big_size == (613, 613) and paper.input_margins == Margins(209, 209, 180, 180)
    assert [(m.top, m.bottom) for m in paper.loi_margins.values()] == lois


@pytest.mark.parametrize("arch", MEASURED_ARCHS)
@pytest.mark.parametrize("size", [64, 97, (96, 160)])
def test_any_input_size_gives_a_consistent_alignment(arch, size):
    """Checked against real runs, not the alignment's own arithmetic: the twin's map cropped at
    the LoI margins equals what the regular model computes, far from any padding, on a crop
    extended by ``e`` px on every side (e a multiple of the total stride 32, so regular pixel i
    is pixel i + e / stride there, with its whole receptive field on image pixels)."""
    no_se = {"squeeze_excitation": False} if arch == "efficientnet_b0" else {}  # SE pools globally
    model = small_model(arch, **no_se)
    a = align(model, size)
    (h, w), (bh, bw), im = a.input_size, a.big_size, a.input_margins
    assert (im.top + h + im.bottom, im.left + w + im.right) == (bh, bw)
    # >= every receptive radius here (too small would fail, not pass)
    e = 32 * -(-max(im.top, im.bottom, im.left, im.right) // 32)
    image = torch.rand(1, 3, bh + 2 * e, bw + 2 * e, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        twin = make_twin(model, a).features(image[..., e : e + bh, e : e + bw])
        wide = model.features(image[..., im.top : im.top + h + 2 * e, im.left : im.left + w + 2 * e])
        regular = model.features(a.regular_crop(image[..., e : e + bh, e : e + bw]))
    for name, m in a.loi_margins.items():
        (n_h, n_w), (t_h, t_w) = regular[name].shape[-2:], twin[name].shape[-2:]
        assert (m.top + n_h + m.bottom, m.left + n_w + m.right) == (t_h, t_w), name
        s_h, s_w = (2 * e // (wide[name].shape[-2] - n_h), 2 * e // (wide[name].shape[-1] - n_w))  # the LoI's stride
        reference = wide[name][..., e // s_h : e // s_h + n_h, e // s_w : e // s_w + n_w]
        aligned = twin[name][..., m.top : m.top + n_h, m.left : m.left + n_w]
        err, tol = float((aligned - reference).abs().max()), tolerance(reference)
        assert err <= tol, f"{name}: twin cropped at {m} is off the regular grid (max diff {err:.3g})"
    assert list(a.loi_margins.values())[-1] == Margins(0, 0, 0, 0)


def test_padding_none_needs_no_margins():
    a = align(small_model("vgg19", "none"), 480)
    assert a.big_size == (480, 480)
    assert all(m == Margins(0, 0, 0, 0) for m in a.layer_margins.values())


def test_alignment_does_not_depend_on_padding_scheme():
    tables = {p: align(small_model("resnet50", p), 128).to_dict() for p in ("zeros", "circular", "randn")}
    assert tables["zeros"]["loi_margins"] == tables["circular"]["loi_margins"] == tables["randn"]["loi_margins"]


def test_too_small_input_is_a_clear_error():
    with pytest.raises(ValueError, match="larger input size"):
        align(small_model("vgg19", "none"), 64)


def test_table_has_the_paper_layout():
    text = align(small_model("vgg19"), 224).table()
    assert "460x460" in text and "(118, 118)" in text and "(56, 56)" in text
    # Regular principal points Pr: the paper's shifted ones (Fig. 6/7), not the map centres.
    for arch in ("resnet50", "efficientnet_b0"):
        rows = align(small_model(arch), 224).table().splitlines()[2:]
        assert [row.split(")")[0].split("(")[1] for row in rows] == ["96, 96", "24, 24", "12, 12", "6, 6", "3, 3"]


def test_centred_alignment_splits_margins_evenly_and_breaks_resnet_exactness():
    """Fig. 2's naive crop: harmless for VGG19 (no shift), wrong for ResNet50 at layer4."""
    vgg = align(small_model("vgg19"), 224)
    assert vgg.centred().input_margins == vgg.input_margins  # symmetric already
    model = small_model("resnet50", padding="circular")
    exact = align(model, 64)
    naive = exact.centred()
    assert naive.big_size == exact.big_size
    for m in (naive.input_margins, *naive.loi_margins.values()):
        assert 0 <= m.bottom - m.top <= 1 and 0 <= m.right - m.left <= 1
    assert naive.input_margins != exact.input_margins
    image = periodic_image(exact, 64)[0]  # circular padding on a periodic image: exact PPP is 0
    good = measure_ppp(model, [image], 64, batch_size=1)
    bad = measure_ppp(model, [image], 64, batch_size=1, alignment=naive)
    exact_zero = lambda r: r.mae_ppp < 1e-4 * float(r.sigma)  # float32 rounding  # noqa: E731
    assert all(exact_zero(r) for r in good.values())
    # LoIs 1-3: the even split is a whole-stride translation of the exact one (still exact
    # here); at layer4 (stride 32) the 16-px input shift is half a stride: misaligned.
    assert [exact_zero(bad[k]) for k in bad] == [True, True, True, False]
    assert bad["layer4"].mae_ppp > 100 * good["layer4"].mae_ppp
    wrong = align(small_model("resnet50", padding="circular"), 96)
    with pytest.raises(ValueError, match="big crop"):
        measure_ppp(model, [image], 64, alignment=wrong)


@pytest.mark.parametrize("arch,size", [("vgg16", 212), ("vgg19", 268), ("resnet50", 427), ("efficientnet_b0", 851)])
def test_min_input_size_is_the_smallest_that_runs(arch, size):
    import torch

    from pppcore import build_model
    from pppcore.alignment import min_input_size

    model = build_model(arch, "none", num_classes=10, width=0.125).eval()
    assert min_input_size(model) == size
    with torch.no_grad():
        model(torch.rand(1, 3, size, size))
        with pytest.raises(RuntimeError):
            model(torch.rand(1, 3, size - 1, size - 1))
    assert min_input_size(build_model(arch, "zeros", num_classes=10, width=0.125)) <= 32


def test_reflect_runs_at_the_smallest_input_whose_maps_exceed_its_pads():
    """EfficientNet-B0's 5x5 convs at stride 32 see 2x2 maps at 64 px: reflect cannot pad 2 px
    there, so training, PosENet and extraction move it up to 65 px; others keep their size."""
    import torch

    from pppcore import build_model
    from pppcore.alignment import input_size_for, min_input_size
    from pppcore.geometry import GeometryError

    model = build_model("efficientnet_b0", "reflect", num_classes=10, width=0.25).eval()
    assert min_input_size(model) == input_size_for(model, 64) == 65 and input_size_for(model, 96) == 96
    with torch.no_grad():
        model(torch.rand(1, 3, 65, 65))
        with pytest.raises(ValueError, match="reflect padding of 2 needs a map larger than 2 px"):
            model(torch.rand(1, 3, 64, 64))
    with pytest.raises(GeometryError, match="features.6.1.* reflect padding of 2 .* gets 2 px"):
        model.trace(64)
    assert input_size_for(build_model("efficientnet_b0", "replicate", num_classes=10, width=0.25), 64) == 64
    assert input_size_for(build_model("vgg19", "reflect", num_classes=10, width=0.125), 64) == 64


def test_the_workflows_table_of_smallest_inputs_is_the_models():
    """rules/common.smk refuses a measurement size below an arch's smallest input for a padding
    from pppcore/repro/min_input_sizes.csv (read without importing torch): it must be the models'."""
    import csv
    from importlib import resources

    from pppcore.alignment import min_input_size

    table = resources.files("pppcore.repro").joinpath("min_input_sizes.csv").read_text()
    rows = list(csv.DictReader(table.splitlines()))
    archs = ("vgg16", "vgg19", "resnet50", "efficientnet_b0")
    paddings = ("zeros", "circular", "reflect", "replicate", "randn", "none")
    assert {(r["arch"], r["padding"]) for r in rows} == {(a, p) for a in archs for p in paddings}
    for r in rows:
        model = build_model(r["arch"], r["padding"], num_classes=10, width=0.125)
        assert min_input_size(model) == int(r["min_input_size"]), (r["arch"], r["padding"])


class Delegate:
    """A model of another kind: only what the Twinnable protocol names, no PPPModel or GraphModel."""

    def __init__(self, model) -> None:
        self.model, self.loi = model, model.loi
        self.arch, self.padding = model.arch, model.padding

    def features(self, x, taps=None):
        return self.model.features(x, taps)

    def trace(self, size, padless=False):
        return self.model.trace(size, padless)

    def align_axis(self, size, axis=0):
        return self.model.align_axis(size, axis)

    def twin(self, alignment=None):
        return self.model.twin(alignment)


def test_align_and_make_twin_ask_only_the_twinnable_protocol():
    from pppcore.alignment import Twinnable, min_input_size

    model = small_model("resnet50", calibrate=False)
    other = Delegate(model)
    assert isinstance(model, Twinnable) and isinstance(other, Twinnable)
    assert align(other, (64, 96)) == align(model, (64, 96))
    assert min_input_size(other) == min_input_size(model)
    assert make_twin(other).padding == "none"
