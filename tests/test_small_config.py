"""config/small.yaml: the scale where the central claim can be tested on one GPU. Its plan is
checked here, and a CPU micro-variant of it (same archs, per-arch paddings and 128-px
geometry, everything else shrunk) runs through the real workflow."""

import shutil

import pandas as pd
import pytest
import yaml

from helpers import ROOT, planned_jobs, snakemake, workflow_copy

SMALL = ROOT / "config" / "small.yaml"


def small_workflow(tmp_path):
    wf = workflow_copy(tmp_path)
    shutil.copy(ROOT / "config.yaml", wf / "config.yaml")  # merged under small.yaml as a user's run would
    return wf


def test_small_plans_every_arch_padding_and_seed(tmp_path):
    wf = small_workflow(tmp_path)
    cfg = yaml.safe_load(SMALL.read_text())
    archs = cfg["train"]["archs"]
    runs = sum(len(a.get("paddings") or cfg["train"]["paddings"]) for a in archs.values()) * len(cfg["train"]["seeds"])
    assert runs == (6 + 5 + 5 + 6) * 3  # none for the VGGs only
    plan = planned_jobs(snakemake(wf, "-n", "all", config=SMALL))
    checkpoints = len({0, cfg["train"]["epochs"],
                       *range(cfg["train"]["ckpt_every"], cfg["train"]["epochs"] + 1, cfg["train"]["ckpt_every"])})
    assert checkpoints >= 3  # Fig 5's surge: init, an early checkpoint, the last
    assert plan["train"] == runs and plan["ppp"] == runs * checkpoints and plan["posenet"] == runs * 2
    assert plan["bhv"] == 11 * 2  # 5 paddings x (same, full) + none, per split
    assert cfg["ppp"]["input_sizes"] == [cfg["train"]["image_size"]]  # measured at the training size


@pytest.mark.slow
def test_cpu_micro_variant_of_small_runs_to_the_readings_table(tmp_path):
    wf = small_workflow(tmp_path)
    cfg = yaml.safe_load(SMALL.read_text())
    for entry in cfg["train"]["archs"].values():
        entry["width"] = 0.0625
        entry["paddings"] = [p for p in ("zeros", "reflect", "none")
                             if p in (entry.get("paddings") or cfg["train"]["paddings"])]

    cfg["name"] = "small-cpu-micro"
    cfg["device"] = "cpu"
    cfg["tiles"].update(n=2)
    cfg["train"].update(paddings=["zeros", "reflect", "none"], seeds=[0], epochs=1, ckpt_every=1, n_train=32, n_val=16,
                        batch_size=16, workers=0)
    cfg["ppp"].update(max_images=1, batch_size=1)
    path = wf / "small_cpu.yaml"
    path.write_text(yaml.safe_dump(cfg))
    snakemake(wf, "results-small/tables/readings.csv", config=path)
    readings = pd.read_csv(wf / "results-small" / "tables" / "readings.csv")
    grid = set(map(tuple, readings[["arch", "padding"]].drop_duplicates().to_numpy()))
    assert grid == {(a, p) for a in ("vgg19", "vgg16") for p in ("zeros", "reflect", "none")} | {
        (a, p) for a in ("resnet50", "efficientnet_b0") for p in ("zeros", "reflect")}
    none = readings[(readings["padding"] == "none") & (readings["reading"] == "mae_ppp")]
    assert (none["mean"] == 0).all()
    zeros = readings[(readings["padding"] == "zeros") & (readings["reading"] == "mae_ppp")]
    assert (zeros["mean"] > 0).all()
