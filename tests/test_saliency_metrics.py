"""Weighted F-measure: the hand-computable cases of Margolin et al.'s definition."""

import math

import pytest
import torch

from pppcore.repro.saliency_metrics import gaussian_kernel, nearest_foreground, weighted_f_measure


def square_gt(size=40, lo=10, hi=30):
    gt = torch.zeros(size, size, dtype=torch.bool)
    gt[lo:hi, lo:hi] = True
    return gt


def plain_f(pred, gt):
    tp = float((pred * gt).sum())
    p, r = tp / float(pred.sum()), tp / float(gt.sum())
    return 2 * p * r / (p + r)


def test_perfect_is_one_and_all_zero_is_zero():
    gt = square_gt()
    assert float(weighted_f_measure(gt.double(), gt)) == pytest.approx(1.0, abs=1e-12)
    assert float(weighted_f_measure(torch.zeros(40, 40), gt)) == 0.0
    assert float(weighted_f_measure(torch.ones(40, 40), gt)) < 0.5


def test_one_false_alarm_costs_its_distance_weight():
    """FP only: R = 1, FPw = 2 - exp(log(0.5) / 5 * d), P = |GT| / (|GT| + FPw)."""
    gt = square_gt()
    for row, d in ((30, 1.0), (35, 6.0), (39, 10.0)):
        pred = gt.double().clone()
        pred[row, 20] = 1.0
        fpw = 2 - math.exp(math.log(0.5) / 5 * d)
        p = 400 / (400 + fpw)
        assert float(weighted_f_measure(pred, gt)) == pytest.approx(2 * p / (1 + p), rel=1e-12)


def test_one_isolated_miss_costs_the_gaussian_centre():
    """A single missed pixel deep inside: its error is replaced by the 7x7, sigma-5 blur
    of the (otherwise zero) error map, i.e. K[3, 3]; precision stays 1."""
    gt = square_gt()
    pred = gt.double().clone()
    pred[20, 20] = 0.0
    k = gaussian_kernel()
    assert float(k.sum()) == pytest.approx(1.0) and k.shape == (7, 7)
    assert float(k[3, 3]) == pytest.approx(1 / sum(math.exp(-(i * i + j * j) / 50)
                                                   for i in range(-3, 4) for j in range(-3, 4)))

    r = 1 - float(k[3, 3]) / 400
    assert float(weighted_f_measure(pred, gt)) == pytest.approx(2 * r / (1 + r), rel=1e-12)


def test_what_the_plain_f_measure_cannot_see():
    gt = square_gt()
    # Pixel importance: the same number of false alarms, next to the object or far away.
    near, far = gt.double().clone(), gt.double().clone()
    near[30, 10:30] = 1.0
    far[39, 10:30] = 1.0
    assert plain_f(near, gt) == pytest.approx(plain_f(far, gt))
    assert float(weighted_f_measure(near, gt)) > float(weighted_f_measure(far, gt)) + 1e-3
    # Pixel dependency: nine scattered misses hurt less than nine clustered ones.
    scattered, clustered = gt.double().clone(), gt.double().clone()
    for i in (12, 19, 26):
        for j in (12, 19, 26):
            scattered[i, j] = 0.0
    clustered[18:21, 18:21] = 0.0
    assert plain_f(scattered, gt) == pytest.approx(plain_f(clustered, gt))
    assert float(weighted_f_measure(scattered, gt)) > float(weighted_f_measure(clustered, gt)) + 1e-3
    # Non-binary maps: a confident correct map beats a hesitant one.
    assert float(weighted_f_measure(0.9 * gt.double(), gt)) > float(weighted_f_measure(0.6 * gt.double(), gt))


def test_batch_matches_single_images_and_empty_truth_scores_zero():
    gen = torch.Generator().manual_seed(0)
    gts = torch.stack([square_gt(32, 4, 20), square_gt(32, 10, 30), torch.zeros(32, 32, dtype=torch.bool)])
    preds = (gts.double() * 0.7 + 0.3 * torch.rand(3, 32, 32, generator=gen, dtype=torch.float64)).clamp(0, 1)
    batch = weighted_f_measure(preds, gts)
    assert batch.shape == (3,) and float(batch[2]) == 0.0
    for i in range(2):
        assert float(batch[i]) == pytest.approx(float(weighted_f_measure(preds[i], gts[i])), rel=1e-12)
        assert 0 < float(batch[i]) < 1


def test_nearest_foreground_is_the_exact_euclidean_distance():
    gen = torch.Generator().manual_seed(1)
    gt = torch.rand(4, 11, 15, generator=gen) < 0.06
    gt[0, 5, 7] = True
    gt[3] = False
    dist, src = nearest_foreground(gt)
    ys, xs = torch.meshgrid(torch.arange(11.0), torch.arange(15.0), indexing="ij")
    grid = torch.stack([ys, xs], -1).double()
    for i in range(3):
        brute = torch.cdist(grid.view(-1, 2), gt[i].nonzero().double()).min(1).values.view(11, 15)
        assert torch.allclose(dist[i], brute)
        assert bool(gt[i][src[i, ..., 0], src[i, ..., 1]].all())  # points at a foreground pixel ...
        assert torch.allclose((src[i].double() - grid).norm(dim=-1), dist[i])  # ... at that distance
    assert torch.isinf(dist[3]).all()


def test_bad_inputs_are_refused():
    gt = square_gt()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        weighted_f_measure(gt.double() * 2, gt)
    with pytest.raises(ValueError, match="binary"):
        weighted_f_measure(gt.double(), gt.double() * 0.5)
    with pytest.raises(ValueError, match="must both be"):
        weighted_f_measure(gt.double()[:-1], gt)
