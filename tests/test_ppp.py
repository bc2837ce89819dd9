import json

import numpy as np
import pytest

from pppcore.checkpoint import save_checkpoint
from pppcore.cli import main
from pppcore.ppp import extract_ppp, extract_sizes

from helpers import small_model, write_images


@pytest.fixture
def tiles(tmp_path):
    return write_images(tmp_path / "tiles", 4, 500, seed=4, prefix="t")


def test_extract_writes_small_json_and_npz(tiles, tmp_path):
    model = small_model("resnet50", "replicate")
    ckpt = tmp_path / "epoch_004.pt"
    save_checkpoint(ckpt, model, epoch=4, val_acc=0.5)
    out_json, out_npz = tmp_path / "m" / "ppp.json", tmp_path / "m" / "ppp.npz"
    results = extract_ppp(ckpt, tiles, 96, out_json, out_npz, max_images=3, progress=False)
    meta = json.loads(out_json.read_text())
    assert meta["epoch"] == 4 and meta["val_acc"] == 0.5 and meta["n_images"] == 3
    assert meta["config"]["padding"] == "replicate"
    assert list(meta["layers"]) == ["layer1", "layer2", "layer3", "layer4"]
    assert meta["layers"]["layer3"]["mae_ppp"] == pytest.approx(results["layer3"].mae_ppp)
    with np.load(out_npz) as npz:
        assert npz["layer1/channel_mean"].shape == (24, 24)
        assert len(npz["layer4/running_mae"]) == 3
    assert out_npz.stat().st_size < 50_000  # maps and scalars only, never raw features


def test_one_load_measures_every_size_as_separate_extractions_would(tiles, tmp_path):
    """The workflow measures each checkpoint at every ppp.input_sizes entry in one job: the
    numbers at each size are those of a one-size extraction, and each JSON names its size."""
    model = small_model("vgg19", "zeros")
    ckpt = tmp_path / "epoch_002.pt"
    save_checkpoint(ckpt, model, epoch=2, val_acc=0.5)
    outputs = [(size, tmp_path / f"{size}.json", tmp_path / f"{size}.npz") for size in (96, 64)]
    both = extract_sizes(ckpt, tiles, outputs, max_images=2, progress=False)
    for size, js, _ in outputs:
        alone = extract_ppp(ckpt, tiles, size, tmp_path / "alone.json", tmp_path / "alone.npz", max_images=2,
                            progress=False)
        meta = json.loads(js.read_text())
        assert meta["size"] == size and meta["alignment"]["input_size"] == [size, size]
        assert {k: r.mae_ppp for k, r in both[size].items()} == {k: r.mae_ppp for k, r in alone.items()}
        assert json.loads((tmp_path / "alone.json").read_text())["layers"] == meta["layers"]
    assert both[96]["block5"].ppp_map.shape[1:] == (6, 6) and both[64]["block5"].ppp_map.shape[1:] == (4, 4)


def test_extract_cli_and_bad_checkpoint(tiles, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    args = ["--images", str(tiles), "--input-size", "96",
            "--json", str(tmp_path / "a.json"), "--npz", str(tmp_path / "a.npz")]

    assert main(["extract", "--checkpoint", str(bad), *args]) == 2
    assert "bad.pt: cannot be read" in capsys.readouterr().err
    assert not (tmp_path / "a.json").exists()
