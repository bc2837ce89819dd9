"""PosENet: targets, SPC, positive / negative controls, NaN kept, the checkpoint step; the
contracted, batched PEMs against the plain per-trial conv path (tests/posenet_reference.py)."""

import json
import math

import numpy as np
import posenet_reference as reference
import pytest
import torch
from PIL import Image

from pppcore import build_model
from pppcore.checkpoint import save_checkpoint
from pppcore.repro.posenet import (
    FEATURE_SIZE,
    FeatureCache,
    PEMs,
    PosENetConfig,
    average_ranks,
    crops,
    fit,
    make_target,
    posenet_checkpoint,
    run_trials,
    spearman,
    tap_features,
    taps,
    trial_seed,
)

from helpers import MEASURED_ARCHS, small_model, write_images

torch.set_num_threads(1)
FAST = dict(trials=2, epochs=6, lr_step=4, batch_size=16, input_size=64, n_train=64, n_eval=16)


def brute_ranks(x: np.ndarray) -> np.ndarray:
    """Average 0-based ranks by definition: #smaller + (#equal - 1) / 2."""
    return np.array([(x < v).sum() + ((x == v).sum() - 1) / 2 for v in x])


def test_targets_have_the_original_shapes():
    g = make_target("gaussian", 65)
    assert g.min() == 0 and g.max() == 1 and g[32, 32] == 1 and g[0, 0] == 0
    assert torch.allclose(g, g.flip(0)) and torch.allclose(g, g.T)
    # sigma = half the side: at the edge midpoint exp(-0.5^2 / (2 0.5^2)) before min-max.
    raw_edge, raw_corner = math.exp(-0.5), math.exp(-1.0)
    assert float(g[32, 0]) == pytest.approx((raw_edge - raw_corner) / (1 - raw_corner), abs=1e-6)
    h, v = make_target("horizontal", 16), make_target("vertical", 16)
    assert (h.diff(dim=1) > 0).all() and (h.diff(dim=0) == 0).all() and torch.equal(v, h.T)
    stripes = make_target("stripes_v", 200)[0]
    peaks = int(((stripes[1:-1] > stripes[:-2]) & (stripes[1:-1] > stripes[2:])).sum())
    assert peaks == 2 and stripes[0] == 1 and stripes[-1] == pytest.approx(0, abs=1e-6)  # 2.5 cycles
    with pytest.raises(ValueError, match="posenet.target"):
        make_target("spiral", 8)


def test_spearman_with_ties_matches_the_definition(rng):
    a = torch.randint(0, 5, (300,), generator=rng).float()  # many ties
    b = a + torch.randn(300, generator=rng)
    assert torch.equal(average_ranks(a), torch.from_numpy(brute_ranks(a.numpy())))
    ra, rb = brute_ranks(a.numpy()), brute_ranks(b.numpy())
    assert spearman(a, b) == pytest.approx(np.corrcoef(ra, rb)[0, 1], abs=1e-12)
    assert spearman(a, b, average_ranks(b)) == spearman(a, b)
    assert spearman(b, b.exp()) == pytest.approx(1.0) and spearman(b, -b) == pytest.approx(-1.0)
    assert math.isnan(spearman(torch.full((50,), 0.3), b[:50]))
    assert math.isnan(spearman(torch.full((50,), 0.3) + 1e-8 * torch.arange(50), b[:50]))  # rounding-level spread
    assert math.isnan(spearman(torch.tensor([0.1, float("nan"), 0.3]), b[:3]))


def gaussian_features(n: int, seed: int, signal: float) -> FeatureCache:
    """Two taps of noise; the first channel of the first carries ``signal`` x a 28 px Gaussian."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 6, FEATURE_SIZE, FEATURE_SIZE, generator=g)
    a[:, 0] += signal * make_target("gaussian", FEATURE_SIZE)
    return FeatureCache([a, torch.randn(n, 4, 7, 7, generator=g)])


def test_positive_control_recovers_a_gaussian_carried_by_the_features():
    cfg = PosENetConfig(**FAST)
    rows = run_trials(gaussian_features(64, 0, 10.0), gaussian_features(16, 1, 10.0), cfg)
    assert all(r["spc"] > 0.9 and r["mae"] < 0.15 for r in rows), rows
    # Same features without the Gaussian: nothing to recover.
    rows = run_trials(gaussian_features(64, 0, 0.0), gaussian_features(16, 1, 0.0), cfg)
    assert all(abs(r["spc"]) < 0.3 for r in rows), rows


def test_padding_position_information_zeros_vs_circular_on_stationary_images(rng):
    """Random-init backbone on i.i.d. noise images: zeros padding marks the border
    (the paper's Table 2 init rows), circular padding sees a torus, no position at all."""
    cfg = PosENetConfig(**FAST)
    images = torch.rand(80, 3, 64, 64, generator=rng)
    spc = {}
    for padding in ("zeros", "circular"):
        model = small_model("vgg19", padding)
        train, evaluation = (FeatureCache.from_model(model, images[:64], cfg),
                             FeatureCache.from_model(model, images[64:], cfg))

        spc[padding] = [r["spc"] for r in run_trials(train, evaluation, cfg)]
    assert min(spc["zeros"]) > 0.8, spc
    assert max(abs(s) for s in spc["circular"]) < 0.2, spc


def test_constant_features_give_nan_trials_that_are_kept():
    g = torch.Generator().manual_seed(0)
    flat = [FeatureCache([torch.rand(n, 5, 1, 1, generator=g).expand(n, 5, 9, 9).contiguous()]) for n in (32, 8)]
    rows = run_trials(*flat, PosENetConfig(**{**FAST, "trials": 3}))
    assert len(rows) == 3 and all(math.isnan(r["spc"]) and r["nan_images"] == 8 for r in rows)
    assert all(0 < r["mae"] < 1 for r in rows)  # MAE stays defined
    ref = reference.run_trials(*flat, PosENetConfig(**{**FAST, "trials": 3}))  # as the plain conv path
    assert all(math.isnan(r["spc"]) and r["nan_images"] == 8 for r in ref)
    assert [r["mae"] for r in rows] == pytest.approx([r["mae"] for r in ref], abs=1e-5)


def test_taps_follow_the_original():
    vgg, resnet = small_model("vgg19", calibrate=False), small_model("resnet50", calibrate=False)
    assert list(taps(vgg)) == ["block1", "block2", "block3", "block4", "block5"]
    assert list(taps(resnet)) == ["layer1", "layer2", "layer3", "layer4"]
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        sizes = [f.shape[-1] for f in tap_features(vgg, x)]
        assert sizes == [64, 32, 16, 8, 4]
        assert torch.equal(tap_features(vgg, x)[1], vgg.features(x)["block2"])
        assert (tap_features(vgg, x)[0] >= 0).all()  # ReLU output, as conv1_2 in the original


def test_feature_cache_resizes_once_or_per_batch_alike(rng):
    levels = [torch.randn(6, 3, 40, 40, generator=rng), torch.randn(6, 2, 5, 5, generator=rng)]
    small = FeatureCache([levels[0][..., :28, :28].contiguous(), levels[1]], max_concat_bytes=0)
    big = FeatureCache([levels[0][..., :28, :28].contiguous(), levels[1]])
    assert small.concat is None and big.concat is not None
    assert torch.allclose(small.batch(torch.tensor([4, 1])), big.batch(torch.tensor([4, 1])))
    with pytest.raises(ValueError, match="tap 1"):
        FeatureCache([levels[0], torch.randn(5, 2, 5, 5)])


def test_crops_split_by_mosaic_and_are_deterministic(tmp_path):
    folder = write_images(tmp_path / "tiles", 4, 100, seed=3)
    cfg = PosENetConfig(input_size=32, n_train=20, n_eval=6)
    train, evaluation = crops(folder, cfg)
    assert train.shape == (20, 3, 32, 32) and evaluation.shape == (6, 3, 32, 32)
    again = crops(folder, cfg)
    assert again[0] is train and again[1] is evaluation  # memoised: the tiles are decoded once per process
    first = sorted(folder.iterdir())[0]
    Image.open(first).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(first)  # a changed file is read again
    flipped = crops(folder, cfg)[0]
    assert not torch.equal(flipped[0], train[0]) and torch.equal(flipped[1], train[1])  # crop 1: the second mosaic's
    first.touch()
    assert crops(folder, cfg)[0] is not flipped and torch.equal(crops(folder, cfg)[0], flipped)
    # n_eval share 6/26 of 4 mosaics -> the last one for evaluation; its 3x3 grid's first window.
    last = np.asarray(Image.open(sorted(folder.iterdir())[-1]).convert("RGB"), dtype=np.float32) / 255
    assert torch.allclose(evaluation[0], torch.from_numpy(last[:32, :32]).permute(2, 0, 1))
    with pytest.raises(ValueError, match="posenet.n_train: 50 crops"):
        crops(folder, PosENetConfig(input_size=32, n_train=50, n_eval=6))
    resized, _ = crops(folder, PosENetConfig(input_size=32, crop_size=48, n_train=4, n_eval=2))
    assert resized.shape == (4, 3, 32, 32) and 0 <= resized.min() and resized.max() <= 1


def test_config_is_checked():
    assert PosENetConfig.from_config(None) == PosENetConfig()
    assert PosENetConfig.from_config({"trials": 2}).trials == 2
    with pytest.raises(ValueError, match="unknown key.*trails"):
        PosENetConfig.from_config({"trails": 2})
    with pytest.raises(ValueError, match="posenet.trials"):
        PosENetConfig(trials=0)


def blocks_folder(path, n: int, side: int, block: int, seed: int):
    """Images made of constant-colour ``block`` px squares (each crop one colour)."""
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        colours = rng.integers(0, 256, (side // block, side // block, 3), dtype=np.uint8)
        Image.fromarray(colours.repeat(block, 0).repeat(block, 1)).save(path / f"b{i}.png")
    return path


def test_checkpoint_step_writes_json_with_nan_trials_as_null(tmp_path):
    """Circular padding on constant crops: every feature is constant, SPC undefined -> null."""
    folder = blocks_folder(tmp_path / "tiles", 3, 128, 32, seed=0)
    ckpt = tmp_path / "epoch_000.pt"
    save_checkpoint(ckpt, build_model("vgg19", "circular", num_classes=10, width=0.125, batch_norm=True), epoch=0,
                    val_acc=0.1)
    cfg = PosENetConfig(**{**FAST, "input_size": 32, "n_train": 24, "n_eval": 8})
    out = tmp_path / "p" / "epoch_000.json"
    posenet_checkpoint(ckpt, folder, cfg, out)
    meta = json.loads(out.read_text())  # strict JSON: NaN written as null
    assert meta["epoch"] == 0 and meta["config"]["padding"] == "circular" and meta["posenet"]["trials"] == 2
    assert [t["spc"] for t in meta["trials"]] == [None, None]
    assert all(0 < t["mae"] < 1 for t in meta["trials"])
    assert meta["channels"] == 8 + 16 + 32 + 64 + 64


def test_unpadded_backbone_runs_on_the_same_windows_resized_to_its_smallest_input(tmp_path):
    folder = write_images(tmp_path / "tiles", 2, 64, seed=1)
    ckpt = tmp_path / "epoch_000.pt"
    save_checkpoint(ckpt, build_model("vgg16", "none", num_classes=10, width=0.125), epoch=0)
    out = tmp_path / "o.json"
    posenet_checkpoint(ckpt, folder, PosENetConfig(**{**FAST, "input_size": 32, "n_train": 2, "n_eval": 1}), out)
    meta = json.loads(out.read_text())
    assert meta["posenet"]["input_size"] == 212  # VGG16's smallest input without padding
    assert meta["posenet"]["crop_size"] == 32  # the windows the padded models see, resized up
    assert len(meta["trials"]) == FAST["trials"]


def _bilinear_half_pixel(y: np.ndarray, size: int) -> np.ndarray:
    """Reference resize of a 2-D map with half-pixel centres (``align_corners=False``):
    source coordinate (i + 0.5) * n / size - 0.5, clamped to [0, n - 1]."""
    n = y.shape[0]
    src = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = src - lo
    rows = y[lo] * (1 - w)[:, None] + y[hi] * w[:, None]
    return rows[:, lo] * (1 - w) + rows[:, hi] * w


def test_pem_upsamples_its_output_like_the_original_decoder():
    """The original decoder upsamples the PEM output with ``align_corners=False``."""
    pems = PEMs(5, [0, 1]).double().eval()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 5, FEATURE_SIZE, FEATURE_SIZE)))
    data = FeatureCache([x])
    out = pems(data, slice(None), 64).detach().numpy()
    raw = torch.sigmoid(pems.bn(pems.conv(data, slice(None)))).detach().numpy()  # 26 x 26
    for b in range(2):
        for t in range(2):
            np.testing.assert_allclose(out[b, t], _bilinear_half_pixel(raw[b, t], 64), rtol=0, atol=1e-12)
    corners = torch.nn.functional.interpolate(torch.from_numpy(raw), size=(64, 64), mode="bilinear", align_corners=True)
    assert np.abs(corners.numpy() - out).max() > 1e-3  # the reference tells the two apart


# ---------------------------------------------------------------- the contracted, batched PEMs vs the plain conv path


def mixed_levels(n: int, seed: int, dtype=torch.float64) -> FeatureCache:
    """Taps at 28 x 28, below it (square and not), above it (resized per batch) and 1 x 1."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(3, 28, 28), (4, 28, 28), (5, 16, 16), (6, 7, 9), (2, 40, 40), (7, 1, 1)]
    return FeatureCache([torch.randn(n, *s, generator=g, dtype=dtype) for s in shapes])


def conv_path(pems: PEMs, data: FeatureCache, index: torch.Tensor, trial: int) -> torch.Tensor:
    """Trial ``trial``'s conv on the concatenated 28 x 28 maps (the former PEM's ``conv``)."""
    return torch.nn.functional.conv2d(data.batch(index), pems.weight[trial : trial + 1],
                                      pems.bias[trial : trial + 1])[:, 0]


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_contracted_conv_equals_the_conv_on_the_concatenated_maps(dtype, tol):
    data = mixed_levels(10, 0, dtype)
    pems = PEMs(data.channels, [3, 4, 5]).to(dtype)
    shared = torch.tensor([7, 2, 2, 9])
    per_trial = torch.tensor([[0, 1, 2, 3], [9, 8, 7, 6], [4, 4, 5, 0]])
    got = pems.conv(data, shared)
    scale = float(got.detach().abs().max())
    for t in range(3):
        assert (got[:, t] - conv_path(pems, data, shared, t)).abs().max() <= tol * scale
        assert (pems.conv(data, per_trial)[:, t] - conv_path(pems, data, per_trial[t], t)).abs().max() <= tol * scale
    # Autograd through the contracted form: the same weight gradient as through the conv.
    if dtype == torch.float64:
        probe = torch.randn(got.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
        (grad,) = torch.autograd.grad((pems.conv(data, per_trial) * probe).sum(), pems.weight)
        plain = sum((conv_path(pems, data, per_trial[t], t) * probe[:, t]).sum() for t in range(3))
        (expected,) = torch.autograd.grad(plain, pems.weight)
        torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-12)


def test_each_trial_starts_as_a_lone_pem_and_trains_as_one():
    """Init, weights, BatchNorm running statistics after training: per trial, as the plain path's."""
    cfg = PosENetConfig(**{**FAST, "trials": 3, "epochs": 3, "lr_step": 2})
    train = mixed_levels(40, 1, torch.float32)
    seeds = [trial_seed(cfg.seed, t) for t in range(cfg.trials)]
    fresh = PEMs(train.channels, seeds)
    target = make_target(cfg.target, cfg.input_size)
    pems, losses = fit(train, target, cfg, seeds)
    for t, seed in enumerate(seeds):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            lone = reference.PEM(train.channels)
        assert torch.equal(fresh.weight[t], lone.conv.weight[0]) and torch.equal(fresh.bias[t], lone.conv.bias[0])
        pem, loss = reference.train_pem(train, target, cfg, seed)
        assert losses[t] == pytest.approx(loss, rel=1e-5)
        torch.testing.assert_close(pems.weight[t], pem.conv.weight[0], rtol=1e-4, atol=1e-6)
        for name in ("weight", "bias", "running_mean", "running_var"):
            torch.testing.assert_close(getattr(pems.bn, name)[t], getattr(pem.bn, name)[0], rtol=1e-4, atol=1e-6)
    assert int(pems.bn.num_batches_tracked) == int(pem.bn.num_batches_tracked)


@pytest.mark.parametrize("arch", MEASURED_ARCHS)
def test_batched_trials_agree_with_the_plain_conv_path(arch):
    """The acceptance test of the fast path: SPC and MAE to 1e-5, the training loss to 1e-5 relative."""
    cfg = PosENetConfig(**{**FAST, "trials": 3, "epochs": 3, "lr_step": 2, "n_train": 32})
    images = torch.rand(cfg.n_train + cfg.n_eval, 3, cfg.input_size, cfg.input_size,
                        generator=torch.Generator().manual_seed(2))
    model = small_model(arch)
    train = FeatureCache.from_model(model, images[: cfg.n_train], cfg)
    evaluation = FeatureCache.from_model(model, images[cfg.n_train :], cfg)
    fast, plain = run_trials(train, evaluation, cfg), reference.run_trials(train, evaluation, cfg)
    for f, p in zip(fast, plain, strict=True):
        assert (f["trial"], f["seed"], f["nan_images"]) == (p["trial"], p["seed"], p["nan_images"])
        assert f["spc"] == pytest.approx(p["spc"], abs=1e-5) and f["mae"] == pytest.approx(p["mae"], abs=1e-5)
        assert f["train_loss"] == pytest.approx(p["train_loss"], rel=1e-5)
    assert len({round(f["spc"], 6) for f in fast}) == cfg.trials  # the trials do differ
