"""The tiles: config section -> the image set (the workflow's tiles rule)."""

import json

import pytest

from pppcore.repro.data.tile_set import build_tile_set


def test_synthetic_source_writes_n_mosaics_and_a_manifest(tmp_path):
    build_tile_set({"source": "synthetic", "n": 2, "size": 96, "seed": 0}, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(list(tmp_path.glob("*.png"))) == 2
    assert len(manifest["mosaics"]) == 2 and manifest["source"] == "synthetic"


@pytest.mark.parametrize(
    "cfg,message",
    [
        ({"source": "folder", "n": 1, "size": 64, "seed": 0}, "tiles.folder is required"),
        ({"source": "synthetic", "n": 1, "size": 64, "seed": 0, "colour": "red"}, "tiles: unknown key(s) colour"),
    ],
)
def test_bad_section_is_named(tmp_path, cfg, message):
    with pytest.raises(ValueError) as err:
        build_tile_set(cfg, tmp_path)
    assert message in str(err.value)
