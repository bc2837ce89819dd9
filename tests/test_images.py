import pytest
import torch
from PIL import Image

from pppcore.images import big_crops, center_crop, list_images, to_tensor


def test_list_images_sorted_and_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_images(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no images"):
        list_images(tmp_path)
    for name in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.png"]


def test_grey_and_rgb_tensors_become_three_channels():
    assert to_tensor(torch.rand(1, 5, 6), "g").shape == (3, 5, 6)
    with pytest.raises(ValueError, match="image x: expected a C x H x W tensor"):
        to_tensor(torch.rand(5, 6), "x")
    img = Image.new("L", (4, 3), color=255)
    assert torch.equal(to_tensor(img, "pil"), torch.ones(3, 3, 4))


def test_centre_crop_and_batches():
    img = torch.arange(100.0).view(1, 10, 10).expand(3, -1, -1)
    assert center_crop(img, (4, 4), "i")[0, 0, 0] == 33
    batches = list(big_crops([img] * 5, (4, 4), batch_size=2))
    assert [len(b) for b in batches] == [2, 2, 1]
