"""The grid module: torch-free, and the one source of the names, the checkpoint schedule and the
path patterns that the workflow (rules/common.smk) and the library share."""

import copy
import subprocess
import sys
import types

import pytest
import yaml
from snakemake.utils import validate

from pppcore.repro import grid
from pppcore.repro.config import TrainConfig

from helpers import ROOT


def test_grid_and_config_import_no_torch():
    code = ("import sys, pppcore.repro.grid, pppcore.repro.config; "
            "assert 'torch' not in sys.modules, sorted(sys.modules)")

    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_lazy_top_level_names_still_import():
    code = ("import sys, pppcore; assert 'torch' not in sys.modules\n"
            "from pppcore import align, build_model, measure_ppp, ARCHS, PADDINGS\n"
            "assert callable(align) and callable(build_model) and callable(measure_ppp) and 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    import pppcore

    assert set(pppcore.__all__) <= set(dir(pppcore))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        pppcore.nothing  # noqa: B018


def test_names_are_the_libraries():
    from pppcore.models import ARCHS
    from pppcore.padding import PADDINGS
    from pppcore.repro.bhv import CONV_TYPES, VALID

    assert grid.ARCHS == ARCHS and grid.PADDINGS == PADDINGS
    assert (grid.BHV_CONV_TYPES, grid.BHV_VALID) == (CONV_TYPES, VALID)
    assert set(grid.min_input_sizes()) == {(a, p) for a in ARCHS for p in PADDINGS}


def test_bhv_nets():
    assert grid.bhv_nets(["zeros", "none", "randn"], ["same", "full"]) == [
        ("zeros", "same"), ("zeros", "full"), ("randn", "same"), ("randn", "full"), ("none", "valid")]
    assert grid.bhv_nets(["zeros"], ["full"]) == [("zeros", "full")]


@pytest.mark.parametrize("epochs,every,expected",
                         [(90, 10, [0, *range(10, 91, 10)]), (3, 2, [0, 2, 3]), (4, 2, [0, 2, 4]),
                                                   (1, 5, [0, 1])])
def test_checkpoint_schedule(epochs, every, expected):
    assert grid.checkpoint_epochs(epochs, every) == expected
    assert TrainConfig("vgg19", epochs=epochs, ckpt_every=every).checkpoint_epochs() == expected


def test_path_patterns():
    assert grid.run_file("r/train", 7, ".pt", "vgg19", "zeros", 2) == "r/train/vgg19/zeros/seed2/epoch_007.pt"
    assert grid.run_file("r/posenet", suffix=".json") == "r/posenet/{arch}/{padding}/seed{seed}/epoch_{epoch}.json"
    assert grid.run_label() == "{arch}_{padding}_seed{seed}" and grid.ppp_root("r", 224) == "r/ppp/224px"
    assert grid.epoch_name(12, ".npz") == "epoch_012.npz" and grid.epoch_name("*", ".pt") == "epoch_*.pt"
    assert grid.measure_sizes(None, 64) == [224, 64] and grid.measure_sizes([224, 224, 128], 64) == [224, 128]


def _common(overrides):
    """rules/common.smk run on config.yaml plus ``overrides`` (it is plain Python)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for key, value in overrides.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    validate(config, str(ROOT / "config" / "config.schema.yaml"))
    namespace = {"config": copy.deepcopy(config), "workflow": types.SimpleNamespace(basedir=str(ROOT))}
    exec(compile((ROOT / "rules" / "common.smk").read_text(), "common.smk", "exec"), namespace)
    return namespace


def test_the_workflow_declares_what_training_writes(tmp_path):
    import torch

    from pppcore.repro.data.procedural import ObjectShapes
    from pppcore.repro.train import train

    torch.set_num_threads(1)
    common = _common({"train": {"epochs": 5, "ckpt_every": 2}, "measure_jobs": "per_run"})
    cfg = TrainConfig("vgg19", width=0.0625, epochs=5, ckpt_every=2, batch_size=16, image_size=32)
    train(cfg, ObjectShapes(16, 32, seed=0), ObjectShapes(8, 32, seed=1), tmp_path, tmp_path / "state.pt",
          progress=False)
    written = sorted(p.name for p in tmp_path.glob("epoch_*.pt"))
    assert written == [grid.epoch_name(e, ".pt") for e in common["ckpt_epochs"]()] == [
        "epoch_000.pt", "epoch_002.pt", "epoch_004.pt", "epoch_005.pt"]
    declared = common["measure_files"]("train", ".pt")
    assert [f.rsplit("/", 1)[1] for f in declared] == written
    assert declared[0] == f"{common['R']}/train/{{arch}}/{{padding}}/seed{{seed}}/epoch_000.pt"
