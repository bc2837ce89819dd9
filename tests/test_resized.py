import torch

from pppcore.repro.data.procedural import ObjectShapes
from pppcore.repro.data.resized import Resized


def test_images_are_resized_and_labels_kept():
    base = ObjectShapes(4, 64, 10, seed=0)
    data = Resized(base, 100)
    assert len(data) == 4
    for i in range(4):
        (x, y), (x0, y0) = data[i], base[i]
        assert x.shape == (3, 100, 100) and y == y0
        assert 0 <= float(x.min()) and float(x.max()) <= 1
        assert abs(float(x.mean()) - float(x0.mean())) < 0.02  # same picture, more pixels


def test_masks_stay_binary():
    class Masks(torch.utils.data.Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            mask = torch.zeros(1, 32, 32)
            mask[:, 8:24, 8:24] = 1
            return torch.rand(3, 32, 32), mask

    x, m = Resized(Masks(), 80)[0]
    assert x.shape == (3, 80, 80) and m.shape == (1, 80, 80)
    assert set(m.unique().tolist()) == {0.0, 1.0} and abs(float(m.mean()) - 0.25) < 0.02


def test_cached_items_are_the_uncached_items_and_callers_cannot_change_them():
    base = ObjectShapes(6, 32, 10, seed=1)
    cached, uncached = Resized(base, 90), Resized(base, 90, cache_bytes=0)
    assert uncached.cache_items == 0 and cached.cache_items >= 6
    for _ in range(2):  # the second pass is served from memory, bit for bit the same
        for i in range(6):
            (x, y), (x0, y0) = cached[i], uncached[i]
            assert torch.equal(x, x0) and y == y0
            x.fill_(7.0)  # a caller writing into its batch
    assert len(cached._cache) == 6 and float(cached[0][0].max()) <= 1


def test_the_cache_stops_at_its_budget():
    one_image = 3 * 40 * 40 * 4
    data = Resized(ObjectShapes(5, 16, 10, seed=0), 40, cache_bytes=2 * one_image)
    assert [data[i][1] for i in range(5)] == [ObjectShapes(5, 16, 10, seed=0)[i][1] for i in range(5)]
    assert sorted(data._cache) == [0, 1]
