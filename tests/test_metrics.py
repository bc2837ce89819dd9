import math

import numpy as np
import pytest
import torch
from PIL import Image

from pppcore import PPPAccumulator, align, make_twin, measure_ppp
from pppcore.images import normalize
from pppcore.metrics import SIGMA_REL_FLOOR, SNR_READINGS, ZERO_PPP_REL, paired_features
from pppcore.repro.data.synthetic import synthetic_images

from helpers import small_model

SIZE = 64
NEW_READINGS = (
    "signed_mae", "noise_floor", "sigma_chw", "sigma_meanmap", "snr_chw", "snr_meanmap", "mae_rel",
    "sigma_pooled", "sigma_pooled_chw", "sigma_chanmean", "snr_pooled", "snr_pooled_chw", "snr_chanmean",
)


@pytest.fixture(scope="module")
def resnet():
    return small_model("resnet50", "zeros")


@pytest.fixture(scope="module")
def images(resnet):
    big = max(align(resnet, SIZE).big_size)
    return synthetic_images(7, big + 5, seed=3)


def centre_crop(img, size):
    h, w = img.shape[-2:]
    return img[..., (h - size[0]) // 2 : (h - size[0]) // 2 + size[0],
               (w - size[1]) // 2 : (w - size[1]) // 2 + size[1]]


def naive(model, images, batch_size):
    """Store every feature, then apply the README's definitions directly in float64 numpy.

    Features are computed in the same batches as the streaming run: float32 convolutions
    round differently for different batch sizes, and this test is about the accumulation.
    """
    alignment = align(model, SIZE)
    twin = make_twin(model, alignment)
    stored = {}
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            big = normalize(torch.stack([centre_crop(img, alignment.big_size) for img in images[i : i + batch_size]]))
            a, o = paired_features(model, twin, alignment, big)
            for k in a:
                stored.setdefault(k, []).append((a[k].double().numpy(), alignment.align_twin(k, o[k]).double().numpy()))
    return {
        k: by_definition(np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]))
        for k, pairs in stored.items()
    }


def by_definition(regular: np.ndarray, twin: np.ndarray) -> dict[str, np.ndarray | float]:
    """The module docstring's definitions on every stored feature (N x C x H x W), float64:
    A_n the regular features, O_n the aligned twin features, D_n = |O_n - A_n|."""
    A = regular.astype(np.float64)
    S = twin.astype(np.float64) - A  # signed
    D = np.abs(S)
    n = len(A)
    per_image = D.mean(axis=(1, 2, 3))
    sigma_n = A.std(axis=(2, 3)).mean(axis=1)  # population std over the spatial axes
    sigma_chw = np.array([a.std() for a in A]).mean()
    sigma_meanmap = A.mean(0).std(axis=(1, 2)).mean()
    sigma_pooled = A.transpose(1, 0, 2, 3).reshape(A.shape[1], -1).std(axis=1).mean()  # per channel over N, H, W
    sigma_pooled_chw = A.std()
    sigma_chanmean = A.mean(axis=1).std(axis=(1, 2)).mean()
    return dict(
        sigma_pooled=sigma_pooled,
        sigma_pooled_chw=sigma_pooled_chw,
        sigma_chanmean=sigma_chanmean,
        snr_pooled=D.mean() / sigma_pooled,
        snr_pooled_chw=D.mean() / sigma_pooled_chw,
        snr_chanmean=D.mean() / sigma_chanmean,
        signed_map=S.mean(0),
        signed_mae=np.abs(S.mean(0)).mean(),
        noise_floor=math.sqrt(2 / math.pi) * (S.std(axis=0, ddof=1) / math.sqrt(n)).mean(),
        sigma_chw=sigma_chw,
        sigma_meanmap=sigma_meanmap,
        snr_chw=D.mean() / sigma_chw,
        snr_meanmap=D.mean() / sigma_meanmap,
        mae_rel=D.mean() / np.abs(A).mean(),
        ppp_map=D.mean(0),
        mae=D.mean(),
        sigma=sigma_n.mean(),
        snr=D.mean() / sigma_n.mean(),
        mean_abs=np.abs(A).mean(),
        stderr=per_image.std(ddof=1) / math.sqrt(len(per_image)),
        running=np.cumsum(per_image) / np.arange(1, len(per_image) + 1),
        running_snr=np.cumsum(per_image) / np.cumsum(sigma_n),
    )


def test_streaming_equals_store_everything(resnet, images):
    streamed = measure_ppp(resnet, images, SIZE, batch_size=3)  # 3 + 3 + 1: a partial batch too
    reference = naive(resnet, images, batch_size=3)
    assert list(streamed) == list(resnet.loi)
    for k, ref in reference.items():
        r = streamed[k]
        assert r.n_images == 7 and not r.degenerate
        np.testing.assert_allclose(r.ppp_map.numpy(), ref["ppp_map"], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(r.channel_mean.numpy(), ref["ppp_map"].mean(0), rtol=1e-6)
        for ours, theirs in [(r.mae_ppp, ref["mae"]), (r["sigma"], ref["sigma"]), (r.snr_ppp, ref["snr"]),
                             (r.stderr, ref["stderr"])]:
            assert ours == pytest.approx(theirs, rel=1e-6)
        for field in NEW_READINGS:
            assert r[field] == pytest.approx(ref[field], rel=1e-5), field
        # O - A is taken in float32 (the features' precision): means that cancel keep ~1e-7 of |O - A|
        np.testing.assert_allclose(r.signed_map.numpy(), ref["signed_map"], rtol=1e-6,
                                   atol=1e-6 * np.abs(ref["ppp_map"]).max())
        np.testing.assert_allclose(r.running_mae, ref["running"], rtol=1e-6)
        assert r.running_snr[-1] == pytest.approx(r.snr_ppp, rel=1e-9)


def test_merge_equals_one_pass(resnet, images):
    alignment = align(resnet, SIZE)
    twin = make_twin(resnet, alignment)

    def accumulate(imgs):
        acc = PPPAccumulator(alignment)
        with torch.no_grad():
            for img in imgs:
                big = normalize(centre_crop(img, alignment.big_size)[None])
                acc.update(*paired_features(resnet, twin, alignment, big))
        return acc

    whole = accumulate(images).compute()
    second = accumulate(images[4:])
    before = second.compute()["layer1"].mae_ppp
    alias = PPPAccumulator().merge(second.state_dict())
    alias.update({"layer1": torch.zeros(1, *whole["layer1"].ppp_map.shape)},
                 {"layer1": torch.ones(1, *whole["layer1"].ppp_map.shape)})
    assert second.compute()["layer1"].mae_ppp == before  # merging copied, did not alias
    merged = accumulate(images[:4]).merge(second.state_dict()).compute()
    for k in whole:
        assert merged[k].mae_ppp == pytest.approx(whole[k].mae_ppp, rel=1e-12)
        assert merged[k].stderr == pytest.approx(whole[k].stderr, rel=1e-9)
        np.testing.assert_allclose(merged[k].running_mae, whole[k].running_mae, rtol=1e-12)
    reset = accumulate(images[:2])
    reset.reset()
    with pytest.raises(ValueError, match="no images"):
        reset.compute()


def test_every_field_follows_the_definitions(resnet):
    """Known tensors straight into the accumulator, regular != twin, with raw twin maps the
    Alignment crops, batches of 3, 1 and 4 images: every field of PPPResult against the
    definitions computed on everything stored (the run on real features above checks fewer)."""
    alignment = align(resnet, SIZE)
    gen = torch.Generator().manual_seed(0)
    acc = PPPAccumulator(alignment)
    stored: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for n in (3, 1, 4):
        regular, twin = {}, {}
        for name, (h, w) in alignment.loi_sizes.items():
            m = alignment.loi_margins[name]
            scale = torch.rand(n, 3, 1, 1, generator=gen) + 0.5  # images and channels differ in spread
            a = scale * torch.randn(n, 3, h, w, generator=gen) + torch.randn(n, 3, 1, 1, generator=gen)
            o = torch.randn(n, 3, m.top + h + m.bottom, m.left + w + m.right, generator=gen)  # the twin's frame
            aligned = a + 0.1 * torch.randn(n, 3, h, w, generator=gen)
            aligned[..., 0, :] += 2.0  # a border pattern, as padding leaves
            o[..., m.top : m.top + h, m.left : m.left + w] = aligned
            regular[name], twin[name] = a, o
            stored.setdefault(name, []).append((a, aligned))
        acc.update(regular, twin)
    results = acc.compute()
    assert list(results) == list(alignment.loi_sizes)
    for name, r in results.items():
        ref = by_definition(torch.cat([p[0] for p in stored[name]]).numpy(),
                            torch.cat([p[1] for p in stored[name]]).numpy())
        assert r.layer == name and r.n_images == 8 and r.degenerate is False
        assert r.ppp_map.dtype == torch.float64 and r.ppp_map.shape == (3, *alignment.loi_sizes[name])
        np.testing.assert_allclose(r.ppp_map.numpy(), ref["ppp_map"], rtol=1e-6)
        np.testing.assert_allclose(r.channel_mean.numpy(), ref["ppp_map"].mean(0), rtol=1e-6)
        for field, key in [("mae_ppp", "mae"), ("sigma", "sigma"), ("snr_ppp", "snr"), ("mean_abs", "mean_abs"),
                           ("stderr", "stderr"), *((f, f) for f in NEW_READINGS)]:
            # the noise floor's sum of squares minus N mean^2 loses a few digits to cancellation
            assert r[field] == pytest.approx(ref[key], rel=1e-5), field
        assert r.signed_map.dtype == torch.float64
        np.testing.assert_allclose(r.signed_map.numpy(), ref["signed_map"], rtol=1e-6, atol=1e-12)
        # the border pattern (+2 on row 0) is the same for every image: far above the noise floor
        assert r.signed_mae > 3 * r.noise_floor
        np.testing.assert_allclose(r.running_mae, ref["running"], rtol=1e-6)
        np.testing.assert_allclose(r.running_snr, ref["running_snr"], rtol=1e-6)
        assert r.summary() == {
            "layer": name, "mae_ppp": r.mae_ppp, "snr_ppp": r.snr_ppp, "sigma": r.sigma, "mean_abs": r.mean_abs,
            "n_images": 8, "stderr": r.stderr, "degenerate": False, "zero_ppp": False,
            "map_shape": [3, *alignment.loi_sizes[name]], **{f: r[f] for f in NEW_READINGS},
        }
    one = PPPAccumulator(alignment)
    one.update({k: v[:1] for k, v in regular.items()}, {k: v[:1] for k, v in twin.items()})
    first = one.compute()["layer1"]
    assert math.isnan(first.stderr) and first.summary()["stderr"] is None and first.running_mae.shape == (1,)
    assert math.isnan(first.noise_floor) and first.summary()["noise_floor"] is None


def test_noise_floor_is_the_expected_signed_mae_of_pure_noise():
    """Zero-mean noise differences: signed_mae averages to the noise floor (within a few %
    over many draws), a constant offset lifts it far above."""
    gen = torch.Generator().manual_seed(1)
    ratios = []
    for _ in range(20):
        a = torch.randn(16, 4, 6, 6, generator=gen)
        acc = PPPAccumulator()
        acc.update({"x": a}, {"x": a + 0.3 * torch.randn(16, 4, 6, 6, generator=gen)})
        r = acc.compute()["x"]
        ratios.append(r.signed_mae / r.noise_floor)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)
    acc = PPPAccumulator()
    acc.update({"x": a}, {"x": a + 0.3 * torch.randn(16, 4, 6, 6, generator=gen) + 0.5})
    r = acc.compute()["x"]
    assert r.signed_mae == pytest.approx(0.5, rel=0.05) and r.signed_mae > 5 * r.noise_floor  # floor: 0.3 * 0.8 / 4


@pytest.mark.parametrize("arch", ["vgg19", "resnet50", "efficientnet_b0"])
def test_padding_none_has_exactly_zero_ppp(arch):
    """An alignment check (the twin of a none-padded model is the model itself, so the PPP
    arithmetic is not exercised here: see test_every_field_follows_the_definitions): the
    smallest input that runs aligns with no margins and measures exactly 0 at every LoI."""
    model = small_model(arch, "none")
    size = {"vgg19": 268, "resnet50": 427, "efficientnet_b0": 851}[arch]  # smallest that works
    a = align(model, size)
    assert a.big_size == (size, size) and all(m.as_tuple() == (0, 0, 0, 0) for m in a.layer_margins.values())
    assert make_twin(model, a) is model
    results = measure_ppp(model, synthetic_images(2, size, seed=1), size)
    assert list(results) == list(model.loi)
    for k, r in results.items():
        assert tuple(r.ppp_map.shape[1:]) == a.loi_sizes[k] and r.n_images == 2
        assert r.mae_ppp == 0.0 and float(r.ppp_map.abs().max()) == 0.0


def test_padding_leaves_positive_ppp_peaked_at_the_border(resnet, images):
    r = measure_ppp(resnet, images, SIZE)["layer1"]
    m = r.channel_mean
    assert r.mae_ppp > 0 and r.snr_ppp > 0
    assert m[0].mean() > 10 * m[m.shape[0] // 2 - 2 : m.shape[0] // 2 + 2,
                                m.shape[1] // 2 - 2 : m.shape[1] // 2 + 2].mean()


def test_image_types_and_paths_agree(resnet, images, tmp_path):
    as_pil = [Image.fromarray((img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)) for img in images[:2]]
    paths = []
    for i, pil in enumerate(as_pil):
        paths.append(tmp_path / f"{i}.png")
        pil.save(paths[-1])
    as_tensor = [torch.from_numpy(np.asarray(p, dtype=np.float32) / 255).permute(2, 0, 1) for p in as_pil]
    by_tensor = measure_ppp(resnet, as_tensor, SIZE)
    by_pil = measure_ppp(resnet, as_pil, SIZE)
    by_path = measure_ppp(resnet, [str(p) for p in paths], SIZE)
    for k in by_tensor:
        assert by_tensor[k].mae_ppp == by_pil[k].mae_ppp == by_path[k].mae_ppp


def test_small_image_is_named_with_sizes(resnet, tmp_path):
    big = align(resnet, SIZE).big_size[0]
    path = tmp_path / "tiny.png"
    Image.new("RGB", (big - 1, big + 10)).save(path)
    with pytest.raises(ValueError,
                       match=rf"tiny.png is {big + 10}x{big - 1} px but the big crop needs at least {big}x{big}"):
        measure_ppp(resnet, [path], SIZE)


def test_corrupt_image_is_named(resnet, tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        measure_ppp(resnet, [path], SIZE)


def test_degenerate_layer_is_flagged_not_divided():
    acc = PPPAccumulator()
    a = torch.full((2, 4, 5, 5), 3.0)
    a[:, :, 0, 0] += 3.0 * SIGMA_REL_FLOOR / 100  # variation far below the floor
    acc.update({"deep": a}, {"deep": a + 0.1})
    r = acc.compute()["deep"]
    assert r.degenerate and math.isnan(r.snr_ppp) and np.isnan(r.running_snr).all()
    assert r.mae_ppp == pytest.approx(0.1) and r.summary()["snr_ppp"] is None and not r.zero_ppp


def collapsed_init(ppp: float, sigma: float, scale: float = 1.0) -> dict:
    """A collapsed random net's layer: per-channel constants ``scale`` with a spatial wiggle of
    std ~``sigma`` (both x scale), and a PPP of ``ppp`` x scale on one border row."""
    gen = torch.Generator().manual_seed(0)
    a = scale * (1.0 + sigma * torch.randn(2, 4, 6, 6, generator=gen))
    o = a.clone()
    o[..., 0, :] += scale * ppp * 6  # one row in six: MAE-PPP = ppp x scale
    acc = PPPAccumulator()
    acc.update({"deep": a}, {"deep": o})
    return acc.compute()["deep"]


def test_an_init_with_ppp_below_the_zero_floor_reads_zero_snr_under_every_reading():
    """VGG16's collapsed init (circular, reflect, randn): PPP and sigma both ~1e-6 of the features.
    Before, one seed read the ratio of the two (an SNR of ~0.5) and the other NaN; now both read
    0, the same test the claims use to call an init zero-PPP."""
    for sigma in (2e-6, 5e-5):  # just above and well above the old absolute floor 1e-6
        r = collapsed_init(ppp=0.5 * ZERO_PPP_REL, sigma=sigma)
        assert r.zero_ppp and r.mae_ppp == pytest.approx(0.5 * ZERO_PPP_REL, rel=1e-3)
        assert all(r[reading] == 0.0 for reading in SNR_READINGS)
        assert (r.running_snr == 0).all() and r.summary()["snr_ppp"] == 0.0
    real = collapsed_init(ppp=10 * ZERO_PPP_REL, sigma=0.01)
    assert not real.zero_ppp and real.snr_ppp > 0


def test_floors_are_relative_so_a_tiny_feature_scale_keeps_its_snr():
    """A random EfficientNet-B0 as saved has features ~1e-10: its SNR is a ratio of two
    numbers of one scale, and must not depend on that scale (the old absolute floor 1e-6
    turned it into NaN)."""
    unit, tiny = collapsed_init(ppp=0.01, sigma=0.1), collapsed_init(ppp=0.01, sigma=0.1, scale=1e-10)
    for reading in SNR_READINGS:
        assert tiny[reading] == pytest.approx(unit[reading], rel=1e-6), reading
    assert not tiny.degenerate and not tiny.zero_ppp
    healthy = PPPAccumulator()
    healthy.update({"x": torch.randn(2, 4, 5, 5)}, {"x": torch.randn(2, 4, 5, 5)})
    assert not healthy.compute()["x"].degenerate


def test_nan_features_are_reported_with_the_layer():
    acc = PPPAccumulator()
    a = torch.zeros(1, 2, 3, 3)
    o = a.clone()
    o[0, 0, 1, 1] = float("nan")
    with pytest.raises(FloatingPointError, match="layer layer3"):
        acc.update({"layer3": a}, {"layer3": o})


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="does not match"):
        PPPAccumulator().update({"x": torch.zeros(1, 2, 3, 3)}, {"x": torch.zeros(1, 2, 5, 5)})


def test_randn_measurement_repeats_with_a_seed(images):
    model = small_model("vgg19", "randn")
    first = measure_ppp(model, images[:2], SIZE, seed=7)
    second = measure_ppp(model, images[:2], SIZE, seed=7)
    other = measure_ppp(model, images[:2], SIZE, seed=8)
    assert all(first[k].mae_ppp == second[k].mae_ppp for k in first)
    assert any(first[k].mae_ppp != other[k].mae_ppp for k in first)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(images):
    model = small_model("resnet50", "reflect")
    cpu = measure_ppp(model, images[:3], SIZE, device="cpu")
    gpu = measure_ppp(model, images[:3], SIZE, device="cuda")
    for k in cpu:
        assert gpu[k].mae_ppp == pytest.approx(cpu[k].mae_ppp, rel=1e-3)


def test_an_unknown_reading_is_refused_naming_the_allowed_ones():
    from pppcore.metrics import check_reading
    from pppcore.repro.claims import claims_table
    from pppcore.repro.tables import table2

    from helpers import frame

    assert check_reading("snr_chw") == "snr_chw"
    for call in (lambda: check_reading("snr_spatial"), lambda: table2(frame(lambda *a: 0.5), reading="snr_spatial"),
                 lambda: claims_table(frame(lambda *a: 0.5), "synthetic", primary_reading="snr_spatial")):
        with pytest.raises(ValueError,
                           match="unknown SNR reading 'snr_spatial'; allowed: snr_ppp, snr_chw, snr_chanmean"):
            call()
