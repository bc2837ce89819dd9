import numpy as np
import pytest
import torch

from pppcore import align, measure_ppp
from pppcore.repro.surfaces import channel_surfaces, random_crops

from helpers import small_model


def test_random_crops_are_seeded_and_in_bounds():
    images = [torch.rand(3, 80, 90, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    a, b = random_crops(images, (64, 64), 5, seed=3), random_crops(images, (64, 64), 5, seed=3)
    assert a.shape == (5, 3, 64, 64) and torch.equal(a, b)
    assert not torch.equal(a, random_crops(images, (64, 64), 5, seed=4))
    with pytest.raises(ValueError, match="#0 is 80x90 px but the big crop needs at least 64x100"):
        random_crops(images, (64, 100), 2)


def test_surfaces_are_the_aligned_maps_and_their_mean_gap_is_ppp():
    model = small_model("vgg19", "zeros")
    crops = random_crops([torch.rand(3, 400, 400, generator=torch.Generator().manual_seed(0))],
                         align(model, 64).big_size, 6)
    s = channel_surfaces(model, list(crops), 64, loi_index=3, n=6, batch_size=4)
    assert s.loi == "block4" and s.twin.shape == s.regular.shape == (6, 8, 8)
    # The picked channel has the largest PPP; its mean map equals measure_ppp's on the same crops.
    ref = measure_ppp(model, list(crops), 64, batch_size=6)["block4"]
    assert s.channel == int(ref.ppp_map.mean((1, 2)).argmax())
    np.testing.assert_allclose(s.ppp(), ref.ppp_map[s.channel].numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s.ppp(1), np.abs(s.twin[0] - s.regular[0]))
    assert s.ppp().max() > 0
