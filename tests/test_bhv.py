"""BHV test (pppcore.repro.bhv): generator by construction, network geometry, metrics, workflow."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from pppcore.padding import RandnPad2d
from pppcore.repro.bhv import (
    BACKGROUNDS,
    PROTOCOLS,
    BHVConfig,
    BHVNet,
    dissimilar,
    fit,
    inconsistency,
    loss_and_accuracy,
    make_splits,
    pad_amount,
    render,
    run_variant,
    sample_layout,
    trajectories,
    variants,
)

from helpers import ROOT, planned_rules, snakemake, workflow_copy

N = 4000  # samples per property test


def squares(img: torch.Tensor, background: str):
    """Pixel masks of the red and green squares and of everything else, from the pixels."""
    red = (img[:, 0] == 1) & (img[:, 1] == 0) & (img[:, 2] == 0)
    green = (img[:, 0] == 0) & (img[:, 1] == 1) & (img[:, 2] == 0)
    rest = ~(red | green)
    assert (img.permute(1, 0, 2, 3)[:, rest] == BACKGROUNDS[background]).all(), "a non-square pixel is not background"
    return red, green


def extent(mask: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last occupied row (dim=-2) or column (dim=-1) of each mask."""
    hit = mask.any(dim=-1 if dim == -2 else -2)
    idx = torch.arange(hit.shape[-1]).expand_as(hit)
    return torch.where(hit, idx, 99).amin(-1), torch.where(hit, idx, -1).amax(-1)


@pytest.mark.parametrize("background", ["black", "grey"])
def test_generator_labels_and_bias_by_construction(background):
    layout = sample_layout(N, seed=3, split="train")
    for test, img in (("similar", render(layout, background)), ("dissimilar", render(dissimilar(layout), background))):
        label = torch.from_numpy(layout.label)
        assert label.tolist() == [i % 2 for i in range(N)]  # alternating, balanced
        red, green = squares(img, background)
        assert (red.sum((-2, -1)) == 16).all() and (green.sum((-2, -1)) == 16).all()
        (r0, r1), (g0, g1) = extent(red, -1), extent(green, -1)
        assert (r1 - r0 == 3).all() and (g1 - g0 == 3).all()  # 4 x 4 squares
        left_start, gap = torch.where(label == 0, r0, g0), torch.where(label == 0, g0 - r1, r0 - g1)
        # class 0: red left of green; class 1: green left of red; at least 5 px between starts
        assert (torch.where(label == 0, g0 > r1, r0 > g1)).all() and (gap >= 2).all()
        assert left_start.min() == 0 and left_start.max() == 9
        top = torch.minimum(extent(red, -2)[0], extent(green, -2)[0])
        bottom = torch.maximum(extent(red, -2)[1], extent(green, -2)[1])
        upper = (label == 0) if test == "similar" else (label == 1)  # dissimilar swaps the bands
        assert (top[upper] >= 3).all() and (bottom[upper] <= 13).all()
        assert (top[~upper] >= 19).all() and (bottom[~upper] <= 29).all()
        assert set(top[upper].tolist()) == set(range(3, 11))  # the whole band is used


def test_dissimilar_is_the_similar_set_moved_into_the_other_band():
    layout = sample_layout(200, seed=0, split="test")
    sim, dis = render(layout, "grey"), render(dissimilar(layout), "grey")
    assert torch.equal(dis[0::2], torch.roll(sim[0::2], 16, dims=-2))
    assert torch.equal(dis[1::2], torch.roll(sim[1::2], -16, dims=-2))


def same(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fraction of images of ``a`` equal to the image at the same index of ``b``."""
    return (a == b).flatten(1).all(1).float().mean().item()


def test_independent_split_gives_every_split_its_own_stream():
    """The robustness variant: validation and test images are not the first training images."""
    d = make_splits(1000, 1000, 1000, 4, "black", seed=0, split="independent")
    train, val, test = d.train[0], d.val[0], d.similar[0]
    assert same(train, val) < 0.01 and same(train, test) < 0.01 and same(val, test) < 0.01
    again = make_splits(1000, 1000, 1000, 4, "black", seed=0)  # independent is the default
    assert torch.equal(again.train[0], train) and torch.equal(again.dissimilar[0], d.dissimilar[0])
    assert same(make_splits(1000, 10, 10, 4, "black", seed=1).train[0], train) < 0.01


@pytest.mark.parametrize("background", ["black", "grey"])
def test_original_split_is_the_first_training_images(background):
    """The original re-seeded on every call: validation = similar test = train[:n] exactly,
    dissimilar = the twin of that similar set; trajectories keep their own stream."""
    d = make_splits(300, 120, 200, 5, background, seed=0, split="original")
    (x, y) = d.train
    assert torch.equal(d.val[0], x[:120]) and torch.equal(d.val[1], y[:120])
    assert torch.equal(d.similar[0], x[:200]) and torch.equal(d.similar[1], y[:200])
    sim, dis = d.similar[0], d.dissimilar[0]
    assert torch.equal(d.dissimilar[1], d.similar[1])
    assert (torch.equal(dis[0::2], torch.roll(sim[0::2], 16, dims=-2))
            and torch.equal(dis[1::2], torch.roll(sim[1::2], -16, dims=-2)))
    pool = sample_layout(300, 0, "train")  # n_train is the largest: the training set is one draw of the train stream
    assert torch.equal(d.dissimilar[0], render(dissimilar(pool.head(200)), background))
    ind = make_splits(300, 120, 200, 5, background, seed=0, split="independent")
    assert torch.equal(ind.train[0], x) and same(ind.val[0], x[:120]) < 0.05 and same(ind.similar[0], x[:200]) < 0.05
    assert all(torch.equal(a, b) for a, b in zip(d.trajectories, ind.trajectories, strict=True))
    # more validation / test images than training images: every split is a prefix of one pool
    e = make_splits(50, 120, 80, 1, background, seed=0, split="original")
    assert torch.equal(e.train[0], e.val[0][:50]) and torch.equal(e.similar[0], e.val[0][:80])
    assert torch.equal(e.val[0], render(sample_layout(120, 0, "train"), background))


@pytest.mark.parametrize("background", ["black", "grey"])
def test_trajectories_move_both_squares_to_the_bottom(background):
    trajs = trajectories(50, background, seed=0)
    assert len(trajs) == 50
    for t in trajs:
        assert t.ndim == 4 and t.shape[1:] == (3, 32, 32) and len(t) >= 2
        red, green = squares(t, background)
        first_row = torch.minimum(extent(red, -2)[0], extent(green, -2)[0])
        last_row = torch.maximum(extent(red, -2)[1], extent(green, -2)[1])
        assert 3 <= first_row[0] and last_row[0] <= 13  # starts as a class-0 sample (upper band)
        assert (extent(red, -1)[1][0] < extent(green, -1)[0][0]).item()  # red left of green
        assert last_row[-1] == 31 and (last_row[:-1] < 31).all()  # stops when touching the bottom
        for k in range(len(t)):
            assert torch.equal(t[k], torch.roll(t[0], k, dims=-2))  # 1 px down per step, together


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="unknown background 'white'"):
        render(sample_layout(2, 0, "train"), "white")
    with pytest.raises(ValueError, match="unknown split"):
        sample_layout(2, 0, "holdout")
    with pytest.raises(ValueError, match="unknown split protocol 'paper'; allowed: original, independent"):
        make_splits(2, 2, 2, 1, "black", split="paper")
    with pytest.raises(ValueError, match="unknown split protocol"):
        run_variant("zeros", "full", "black", BHVConfig(trials=1), split="shuffled")
    assert PROTOCOLS == ("original", "independent")
    with pytest.raises(ValueError, match="padding 'none' goes with conv type 'valid'"):
        BHVNet("none", "full")
    with pytest.raises(ValueError, match="unknown conv type 'valid' for padding 'zeros'"):
        BHVNet("zeros", "valid")
    with pytest.raises(ValueError, match="unknown padding 'mirror'"):
        BHVNet("mirror", "same")


def map_sizes(model: BHVNet, x: torch.Tensor) -> list[int]:
    sizes = []
    for conv in model.convs:
        x = conv(x)
        sizes.append(x.shape[-1])
    return sizes


@pytest.mark.parametrize("conv_type,padding,sizes", [
    ("same", "zeros", [32, 16, 8, 4]), ("full", "zeros", [34, 18, 10, 6]), ("valid", "none", [30, 14, 6, 2]),
    ("full", "reflect", [34, 18, 10, 6]), ("full", "randn", [34, 18, 10, 6]), ("same", "replicate", [32, 16, 8, 4]),
])
def test_fconv_pads_k_minus_1_on_every_side(conv_type, padding, sizes):
    model = BHVNet(padding, conv_type, seed=0)
    assert all(c.pad.amount == {"same": 1, "full": 2, "valid": 0}[conv_type] for c in model.convs)
    assert map_sizes(model, torch.rand(2, 3, 32, 32)) == sizes
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 2)


@pytest.mark.parametrize("conv_type,weights_seeing_corner", [("full", 9), ("same", 4), ("valid", 1)])
def test_corner_pixel_reaches_every_kernel_weight_only_under_fconv(conv_type, weights_seeing_corner):
    model = BHVNet("zeros" if conv_type != "valid" else "none", conv_type, seed=0)
    conv = model.convs[0]
    kernel = torch.arange(1.0, 10.0).view(3, 3)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = kernel
    x = torch.zeros(1, 3, 32, 32)
    x[0, 0, 0, 0] = 1.0  # one nonzero pixel at the corner
    out = conv(x)[0, 0]
    assert int((out != 0).sum()) == weights_seeing_corner
    if conv_type == "full":
        assert torch.equal(out[:3, :3], kernel.flip(0, 1))  # each of the 9 weights sees it once
    # ... and it reaches the pooled output of the whole (positive-weight) network.
    with torch.no_grad():
        for c in model.convs:
            c.weight.abs_()
    assert (model.features(x).amax((-2, -1)) > model.features(torch.zeros_like(x)).amax((-2, -1))).any()


@pytest.mark.parametrize("conv_type,amount", [("same", 1), ("full", 2)])
def test_circular_pads_the_intended_amount(conv_type, amount):
    """PyTorch <= 1.4 padded (p + 1) // 2 before and p // 2 after for circular (the original's
    F-Conv circular got 1 px per side); here circular pads p on every side: k//2 or k-1."""
    model = BHVNet("circular", conv_type, seed=0)
    conv = model.convs[0]
    x = torch.rand(2, 3, 32, 32)
    expected = F.conv2d(F.pad(x, [amount] * 4, mode="circular"), conv.weight)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    assert conv(x).shape[-1] == 32 + 2 * amount - 2


def test_randn_is_the_main_models_policy_and_seeded():
    a, b = BHVNet("randn", "full", seed=5), BHVNet("randn", "full", seed=5)
    pads = [c.pad for c in a.convs]
    assert all(isinstance(p, RandnPad2d) and p.window == 3 and p.amount == 2 for p in pads)
    assert len({p.seed for p in pads}) == 4  # one stream per layer
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        first = a(x)
        assert torch.equal(first, b(x))  # same seed, same weights, same noise
        assert not torch.equal(first, a(x))  # stochastic even in eval mode
    assert not torch.equal(BHVNet("randn", "full", seed=6).convs[0].weight, a.convs[0].weight)


class RelativeOnly(nn.Module):
    """Sees only where red is relative to green (column centres): class 0 iff red is left."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols = torch.arange(x.shape[-1], dtype=x.dtype)
        red, green = (x[:, 0] - x[:, 1]).clamp(min=0), (x[:, 1] - x[:, 0]).clamp(min=0)
        centre = lambda m: (m.sum(-2) * cols).sum(-1) / m.sum((-2, -1))  # noqa: E731
        d = centre(green) - centre(red)
        return torch.stack([d, -d], 1)


class AbsoluteOnly(nn.Module):
    """Reads only the vertical position: class 0 iff the squares sit in the upper half."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ink = (x - x[..., :1, :1]).abs().sum(1)
        rows = torch.arange(x.shape[-2], dtype=x.dtype)
        y = (ink.sum(-1) * rows).sum(-1) / ink.sum((-2, -1))
        return torch.stack([16 - y, y - 16], 1)


@pytest.mark.parametrize("background", ["black", "grey"])
def test_trajectory_inconsistency_separates_relative_from_absolute_models(background):
    d = make_splits(10, 10, 400, 100, background, seed=2)
    rel, ab = RelativeOnly(), AbsoluteOnly()
    assert inconsistency(rel, d.trajectories) == 0.0
    assert loss_and_accuracy(rel, *d.similar)[1] == loss_and_accuracy(rel, *d.dissimilar)[1] == 100.0
    assert inconsistency(ab, d.trajectories) == 100.0  # every trajectory crosses the middle
    assert loss_and_accuracy(ab, *d.similar)[1] == 100.0 and loss_and_accuracy(ab, *d.dissimilar)[1] == 0.0


def test_fit_stops_early_and_restores_the_best_weights():
    torch.set_num_threads(1)
    d = make_splits(200, 100, 10, 2, "grey", seed=0)
    cfg = BHVConfig(epochs=40, patience=2, batch_size=50)
    model = BHVNet("none", "valid", seed=0)
    out = fit(model, d.train, d.val, cfg)
    losses = [h["val_loss"] for h in out["history"]]
    assert out["best_epoch"] == 1 + int(np.argmin(losses)) and out["best_val_loss"] == min(losses)
    assert out["epochs_run"] == cfg.epochs or out["epochs_run"] == out["best_epoch"] + cfg.patience
    assert loss_and_accuracy(model, *d.val)[0] == pytest.approx(out["best_val_loss"], rel=1e-5)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Percentage of ``x`` that ``model`` labels ``y``."""
    return 100.0 * int((model(x).argmax(1) == y).sum()) / len(y)


def test_run_variant_repeats_exactly_and_reports_every_trial():
    """Each trial's numbers are its own network's: the test retrains trial t (seed 1000 * seed + t,
    the same data) and recomputes both accuracies and the inconsistency from their definitions."""
    torch.set_num_threads(1)
    cfg = BHVConfig(trials=2, epochs=2, patience=1, n_train=100, n_val=50, n_test=50, n_trajectories=6, batch_size=50,
                    seed=3)
    a = run_variant("zeros", "full", "grey", cfg)
    strip = lambda r: [{k: v for k, v in t.items() if k != "seconds"} for t in r["trials"]]  # noqa: E731
    assert strip(run_variant("zeros", "full", "grey", cfg)) == strip(a)
    assert ((a["split"], a["padding"], a["conv_type"], a["background"], a["config"])
            == ("independent", "zeros", "full", "grey", asdict(cfg)))

    assert [(t["trial"], t["init_seed"]) for t in a["trials"]] == [(0, 3000), (1, 3001)]
    assert json.loads(json.dumps(a, allow_nan=False)) == a  # the job's JSON: plain, finite numbers
    data = make_splits(cfg.n_train, cfg.n_val, cfg.n_test, cfg.n_trajectories, "grey", seed=3)
    for t in a["trials"]:
        model = BHVNet("zeros", "full", seed=t["init_seed"])
        fitted = fit(model, data.train, data.val, cfg)
        assert {k: t[k] for k in fitted} == fitted and 1 <= t["epochs_run"] <= cfg.epochs
        with torch.no_grad():
            model.eval()
            switched = [bool((model(traj).argmax(1) != model(traj[:1]).argmax(1)).any()) for traj in data.trajectories]
            assert (t["similar"], t["dissimilar"]) == (accuracy(model, *data.similar),
                                                       accuracy(model, *data.dissimilar))
        assert t["inconsistency"] == 100.0 * sum(switched) / cfg.n_trajectories
        assert t["diff"] == t["dissimilar"] - t["similar"]
        assert 0 <= t["similar"] <= 100 and 0 <= t["dissimilar"] <= 100 and 0 <= t["inconsistency"] <= 100
    other = run_variant("zeros", "full", "grey", replace(cfg, seed=4))
    assert [t["init_seed"] for t in other["trials"]] == [4000, 4001]
    assert [t["history"] for t in other["trials"]] != [t["history"] for t in a["trials"]]


def test_run_variant_repeats_exactly_per_split_and_records_it():
    torch.set_num_threads(1)
    cfg = BHVConfig(trials=1, epochs=2, patience=1, n_train=100, n_val=50, n_test=50, n_trajectories=4, batch_size=50,
                    seed=1)
    strip = lambda r: [{k: v for k, v in t.items() if k != "seconds"} for t in r["trials"]]  # noqa: E731
    runs = {s: run_variant("none", "valid", "black", cfg, split=s) for s in PROTOCOLS}
    for split, r in runs.items():
        assert r["split"] == split and json.loads(json.dumps(r, allow_nan=False)) == r
        assert strip(run_variant("none", "valid", "black", cfg, split=split)) == strip(r)
    # original: validation = the first 50 training images, so its numbers are the network's on them
    data = make_splits(cfg.n_train, cfg.n_val, cfg.n_test, cfg.n_trajectories, "black", seed=1, split="original")
    model = BHVNet("none", "valid", seed=runs["original"]["trials"][0]["init_seed"])
    fit(model, data.train, data.val, cfg)
    with torch.no_grad():
        model.eval()
        assert runs["original"]["trials"][0]["similar"] == accuracy(model, data.train[0][:50], data.train[1][:50])
    assert strip(runs["original"]) != strip(runs["independent"])


def job_counts(proc) -> dict[str, int]:
    """Rule -> planned jobs, from a dry run's last "Job stats" table."""
    rows = (proc.stdout + proc.stderr).split("Job stats:")[-1].splitlines()[3:]
    return {r.split()[0]: int(r.split()[1]) for r in rows if len(r.split()) == 2 and r.split()[1].isdigit()}


def test_variants_match_the_workflow_grid(tmp_path):
    assert variants(["zeros", "none", "randn"], ["same", "full"]) == [
        ("zeros", "same"), ("zeros", "full"), ("randn", "same"), ("randn", "full"), ("none", "valid")]
    assert pad_amount("none", "valid") == 0
    # The workflow plans one job per (network, background) of the default config.
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())["bhv"]
    counts = job_counts(snakemake(workflow_copy(tmp_path), "-n", "table1", config=ROOT / "config.yaml"))
    assert counts["bhv"] == len(variants(cfg["paddings"], cfg["conv_types"])) == 11  # both backgrounds per job


def test_fig3_draws_both_backgrounds():
    from pppcore.repro.bhv_plots import fig3_samples

    fig = fig3_samples(("black", "grey"), seed=0)
    assert len(fig.axes) == 8
    grey_image = fig.axes[4].images[0].get_array()
    assert grey_image.shape == (36, 36, 3) and grey_image[0, 0, 0] == 0 and grey_image[2, 2, 0] == 0.5


def test_micro_dag_builds_table1_and_fig3(tmp_path):
    wf = workflow_copy(tmp_path)
    assert planned_rules(snakemake(wf, "-n", "table1", "fig3")) == {"bhv", "table1", "fig3"}
    snakemake(wf, "table1", "fig3")
    r = wf / "results"
    tex = (r / "tables/table1.tex").read_text()
    assert "\\toprule" in tex and "No-pad" in tex and "Grey Background" in tex
    assert "% Robustness: split independent" in tex and tex.count("\\begin{tabular}") == 2
    rows = (r / "tables/table1.csv").read_text().splitlines()
    assert rows[0].startswith("split,padding,conv_type,fconv,")
    assert [row.split(",")[:3] for row in rows[1:]] == [  # (zeros full, none valid) per split, original first
        ["original", "zeros", "full"], ["original", "none", "valid"], ["independent", "zeros", "full"],
        ["independent", "none", "valid"]]
    assert (r / "figures/fig3_bhv_samples.png").stat().st_size > 0
    for split in ("original", "independent"):
        assert (len(list((r / "logs/bhv" / split).glob("*.log")))
                == len(list((r / "benchmarks/bhv" / split).glob("*.tsv"))) == 2)

        for bg in ("black", "grey"):
            job = json.loads((r / "bhv" / split / bg / "zeros_full.json").read_text())
            assert (job["split"], job["background"]) == (split, bg)
    assert len(list((r / "bhv").rglob("*.json"))) == 8  # 2 splits x 2 networks x 2 backgrounds


@pytest.mark.parametrize("padding,conv_type,background,invariant", [
    ("zeros", "full", "black", True),  # zero pad = background: the confound the paper points out
    ("zeros", "full", "grey", False),
    ("circular", "same", "grey", True),  # the 16 px swap is a cyclic shift by a multiple of the stride 8
    ("zeros", "same", "black", False),  # same-conv crops the border responses
])
def test_which_networks_cannot_see_the_dissimilar_shift(padding, conv_type, background, invariant):
    """Untrained nets: F-Conv zeros on black and circular give the same logits on the
    similar and dissimilar test images, before any training."""
    layout = sample_layout(64, seed=0, split="test")
    model = BHVNet(padding, conv_type, seed=0).eval()
    with torch.no_grad():
        a, b = model(render(layout, background)), model(render(dissimilar(layout), background))
    assert torch.allclose(a, b, atol=1e-5 * float(a.abs().max())) == invariant
