"""The tiles: config section -> the image set (the workflow's tiles rule)."""

import json

import pytest

from pppcore.repro.config import TilesConfig
from pppcore.repro.data.tile_set import build_tile_set


def test_synthetic_source_writes_n_mosaics_and_a_manifest(tmp_path):
    build_tile_set(TilesConfig.from_config({"source": "synthetic", "n": 2, "size": 96, "seed": 0}), tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(list(tmp_path.glob("*.png"))) == 2
    assert len(manifest["mosaics"]) == 2 and manifest["source"] == "synthetic"


@pytest.mark.parametrize(
    "cfg,message",
    [
        ({"source": "folder", "n": 1, "size": 64, "seed": 0}, "tiles.folder is required"),
        ({"source": "synthetic", "n": 1, "size": 64, "seed": 0, "colour": "red"}, "tiles: unknown key(s) colour"),
        ({"source": "xyz", "n": 1, "size": 256, "seed": 0, "xyz": {"boxes": [[4.8, 52.3, 4.9, 52.4]]}},
         "tiles.xyz.url_templates must not be empty"),
    ],
)
def test_bad_section_is_named(tmp_path, cfg, message):
    with pytest.raises(ValueError) as err:
        build_tile_set(TilesConfig.from_config(cfg), tmp_path)
    assert message in str(err.value)
