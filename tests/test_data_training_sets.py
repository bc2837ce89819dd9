"""Training sets: the procedural salient-object set and the real ImageFolder / DUTS loaders
(read from small PNG/JPEG trees written here), with errors that name the folder or file."""

import numpy as np
import pytest
import torch
from PIL import Image

from pppcore.repro.config import DataConfig
from pppcore.repro.data.imagefolder import DUTS, ImageFolderClassification
from pppcore.repro.data.salient import SalientObjects
from pppcore.repro.data.training_sets import training_sets


def save(path, array, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, fmt)


def solid(h, w, rgb):
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (h, w, 3)).copy()


def test_salient_objects_are_seeded_binary_and_centred_objects():
    a, b = SalientObjects(24, 48, seed=2), SalientObjects(24, 48, seed=2)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert not torch.equal(a.masks, SalientObjects(24, 48, seed=3).masks)
    x, m = a[5]
    assert x.shape == (3, 48, 48) and m.shape == (1, 48, 48)
    assert set(a.masks.unique().tolist()) == {0.0, 1.0}
    area = a.masks.mean(dim=(1, 2, 3))
    assert bool((area > 0.01).all() and (area < 0.6).all())
    # The object is painted where the mask says: its pixels differ from the background's.
    inside = a.images[5][:, m[0] > 0]
    assert inside.std(dim=1).max() < a.images[5][:, m[0] == 0].std(dim=1).max()


def test_imagefolder_labels_sizes_and_center_crop(tmp_path):
    # 40 x 80 image, left half red, right half blue: the 32 px centre crop is half/half.
    img = solid(40, 80, (255, 0, 0))
    img[:, 40:] = (0, 0, 255)
    save(tmp_path / "train" / "b_class" / "x.png", img)
    save(tmp_path / "train" / "a_class" / "y.jpg", solid(50, 50, (0, 255, 0)), "JPEG")
    save(tmp_path / "train" / "a_class" / "z.png", solid(64, 48, (10, 20, 30)))
    save(tmp_path / "val" / "a_class" / "v.png", solid(32, 32, (1, 2, 3)))
    save(tmp_path / "val" / "b_class" / "w.png", solid(32, 32, (1, 2, 3)))
    train = ImageFolderClassification(tmp_path, "train", 32)
    assert train.classes == ["a_class", "b_class"] and len(train) == 3
    assert [label for _, label in train.samples] == [0, 0, 1]
    x, label = train[2]
    assert label == 1 and x.shape == (3, 32, 32)
    assert x[0, :, :14].min() > 0.9 and x[2, :, 18:].min() > 0.9 and x[2, :, :14].max() < 0.1
    assert train[0][0][1].mean() > 0.9  # the JPEG's green survives
    val = ImageFolderClassification(tmp_path, "val", 32, classes=train.classes)
    assert len(val) == 2
    sets = training_sets(DataConfig.from_config("classification", {"source": "imagefolder", "root": str(tmp_path)}),
                         32, 1, 1)
    assert sets[2] == 2 and len(sets[0]) == 3 and len(sets[1]) == 2


def test_imagefolder_errors_name_the_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "train")):
        ImageFolderClassification(tmp_path, "train", 32)
    (tmp_path / "train" / "empty_class").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="empty_class holds no images"):
        ImageFolderClassification(tmp_path, "train", 32)
    save(tmp_path / "train" / "empty_class" / "ok.png", solid(8, 8, (0, 0, 0)))
    save(tmp_path / "val" / "other" / "ok.png", solid(8, 8, (0, 0, 0)))
    with pytest.raises(ValueError,
                       match=r"differ from the training split's \(missing \['empty_class'\], extra \['other'\]\)"):
        ImageFolderClassification(tmp_path, "val", 32, classes=["empty_class"])
    (tmp_path / "train" / "empty_class" / "broken.png").write_bytes(b"not a png")
    data = ImageFolderClassification(tmp_path, "train", 32)
    with pytest.raises(ValueError, match="broken.png: cannot be read"):
        data[0]
    with pytest.raises(ValueError, match="train.data.classification.root is required"):
        training_sets(DataConfig("classification", "imagefolder"), 64, 1, 1)


def write_duts(root, split, n, size=(30, 40)):
    h, w = size
    for i in range(n):
        img = solid(h, w, (40, 40, 40))
        img[5:20, 10:30] = (250, 200, 0)
        mask = np.zeros((h, w), dtype=np.uint8)
        mask[5:20, 10:30] = 255
        save(root / split / f"{split}-Image" / f"ILSVRC_{i:03d}.jpg", img, "JPEG")
        save(root / split / f"{split}-Mask" / f"ILSVRC_{i:03d}.png", mask)


def test_duts_pairs_images_with_binary_masks(tmp_path):
    write_duts(tmp_path, "DUTS-TR", 3)
    write_duts(tmp_path, "DUTS-TE", 2)
    data = DUTS(tmp_path, "DUTS-TR", 32)
    assert len(data) == 3
    x, m = data[1]
    assert x.shape == (3, 32, 32) and m.shape == (1, 32, 32)
    assert set(m.unique().tolist()) == {0.0, 1.0}
    # Resized, not cropped: the box covers rows 5-19 of 30 and columns 10-29 of 40.
    assert m[0, 16, 16] == 1 and m[0, 0, 0] == 0 and m[0, 28, 16] == 0 and m[0, 16, 30] == 0
    assert abs(float(m.mean()) - (15 * 20) / (30 * 40)) < 0.05
    assert x[0][m[0] > 0].mean() > 0.9 and x[2][m[0] > 0].mean() < 0.2
    train, val, n = training_sets(DataConfig.from_config("saliency", {"source": "duts", "root": str(tmp_path)}),
                                  32, 1, 1)

    assert (len(train), len(val), n) == (3, 2, 1)


def test_duts_errors_name_the_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="DUTS-TR-Image does not exist"):
        DUTS(tmp_path, "DUTS-TR", 32)
    write_duts(tmp_path, "DUTS-TR", 7)
    for i in (2, 4):
        (tmp_path / "DUTS-TR" / "DUTS-TR-Mask" / f"ILSVRC_{i:03d}.png").unlink()
    with pytest.raises(FileNotFoundError,
                       match=r"2 image\(s\) of .*DUTS-TR-Image have no mask in .*DUTS-TR-Mask: ILSVRC_002.jpg, "
                             r"ILSVRC_004.jpg"):
        DUTS(tmp_path, "DUTS-TR", 32)
    save(tmp_path / "DUTS-TR" / "DUTS-TR-Mask" / "ILSVRC_002.png", np.zeros((10, 10), dtype=np.uint8))
    save(tmp_path / "DUTS-TR" / "DUTS-TR-Mask" / "ILSVRC_004.png", np.zeros((30, 40), dtype=np.uint8))
    data = DUTS(tmp_path, "DUTS-TR", 32)
    with pytest.raises(ValueError, match="ILSVRC_002.png is 10x10 px but image .*ILSVRC_002.jpg is 30x40"):
        data[2]
    with pytest.raises(ValueError, match="split must be one of"):
        DUTS(tmp_path, "DUTS-XX", 32)


def test_procedural_sources_and_unknown_values():
    train, val, n = training_sets(DataConfig("saliency"), 32, 4, 2)
    assert (len(train), len(val), n) == (4, 2, 1) and isinstance(train, SalientObjects)
    train, val, n = training_sets(DataConfig("classification"), 32, 10, 10)
    assert n == 10 and train[3][1] == 3
    with pytest.raises(ValueError, match="source must be procedural or duts"):
        training_sets(DataConfig("saliency", "imagefolder", "x"), 64, 1, 1)
    with pytest.raises(ValueError, match="unknown task"):
        DataConfig.from_config("detection", {})
