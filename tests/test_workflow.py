"""The Snakemake workflow, driven through its command line like a user would."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pppcore.metrics import READINGS, SNR_READINGS
from pppcore.repro.claims import VERDICTS

from growth import AGGREGATES, GROWTH
from helpers import MICRO, planned_jobs, planned_rules, snakemake, workflow_copy


def micro_with(wf: Path, name: str, sort_keys: bool = False, **sections: dict) -> Path:
    """The micro config with ``sections`` merged in (one level deep), written beside the workflow."""
    config = yaml.safe_load(MICRO.read_text())
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    path = wf / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=sort_keys))
    return path


@pytest.mark.xdist_group("micro")
def test_micro_dag_end_to_end(finished_micro):
    wf = finished_micro
    r = wf / "results"
    for out in ("tables/table2.csv", "tables/table2.tex",
                "figures/fig5_chronological_ppp.png", "figures/fig5_chronological_ppp.pdf",
                "figures/fig4_ppp_grid.png",
 "figures/fig4_ppp_grid.pdf", "figures/fig2_principal_point_shift.png",
                "figures/fig2_principal_point_shift.csv", "figures/fig1_ppp_surfaces.png"):
        assert (r / out).stat().st_size > 0, out
    html = (r / "report.html").read_text()
    figures = ("fig1_ppp_surfaces.png", "fig2_principal_point_shift.png", "fig4_ppp_grid.png",
               "fig5_chronological_ppp.png")
    assert all(name in html for name in (*figures, "table2.csv"))
    assert "\\toprule" in (r / "tables/table2.tex").read_text()
    # Every job left a log and a benchmark.
    assert len(list((r / "logs").rglob("*.log"))) == len(list((r / "benchmarks").rglob("*.tsv"))) >= 10
    # Sec 4.1 at micro scale: training raises MAE-PPP at LoI 4 of a zeros-padded model.
    first, last = (json.loads((r / f"ppp/64px/vgg19/zeros/seed0/epoch_{e:03d}.json").read_text()) for e in (0, 2))
    assert last["layers"]["block5"]["mae_ppp"] > first["layers"]["block5"]["mae_ppp"]
    # Every checkpoint is measured at each of ppp.input_sizes (micro: 64, the primary, and 48).
    second = json.loads((r / "ppp/48px/vgg19/zeros/seed0/epoch_002.json").read_text())
    assert (second["size"], second["alignment"]["input_size"], last["size"]) == (48, [48, 48], 64)
    assert second["layers"]["block5"]["map_shape"][1:] == [3, 3] and last["layers"]["block5"]["map_shape"][1:] == [4, 4]
    # A none-padded model is its own twin: PPP is exactly 0 at every LoI, init and trained, at every size.
    for e in (0, 2):
        for size in (64, 48):
            none = json.loads((r / f"ppp/{size}px/vgg19/none/seed0/epoch_{e:03d}.json").read_text())
            # the smallest input VGG19 can see unpadded
            assert none["size"] == size and none["alignment"]["input_size"] == [268, 268]
            assert [layer["mae_ppp"] for layer in none["layers"].values()] == [0.0] * 4
            assert all(layer["zero_ppp"] and layer["snr_ppp"] == 0.0 for layer in none["layers"].values())
    # The claims table: every claim of the paper has a valid verdict, and the report opens with it.
    claims = pd.read_csv(r / "tables/claims.csv")
    assert len(claims) >= 8 and set(claims["verdict"]) <= set(VERDICTS)
    assert claims["claim"].str.contains("BHV|Grey|grey").any()
    assert "Claims of the paper, judged on this run" in html
    readings = pd.read_csv(r / "tables/readings.csv")
    assert set(readings["reading"]) == set(READINGS) and set(readings["size"]) == {64, 48}
    # Each SNR reading against the paper's init rows, at both sizes; one primary reading, picked by the
    # code's rule at the primary size, is the one Table 2 and the claims' primary verdict use.
    fit, summary = pd.read_csv(r / "tables/reading_fit.csv"), pd.read_csv(r / "tables/reading_fit_summary.csv")
    assert set(fit["size"]) == {64, 48} and set(fit["reading"]) == set(SNR_READINGS)
    assert set(zip(fit["arch"], fit["padding"], strict=True)) == {("vgg19", "zeros"), ("vgg19", "circular"),
                                                                  ("vgg19", "none")}
    primary = summary[summary["primary"]]
    assert len(primary) == 1 and primary["size"].iloc[0] == 64
    table2 = pd.read_csv(r / "tables/table2.csv")
    # Table 2 at the primary size
    assert set(table2["size"]) == {64} and set(table2["snr_reading"]) == {primary["reading"].iloc[0]}
    assert (set(claims["reading"]) >= {primary["reading"].iloc[0]}
            and {f"{x}@{s}" for x in SNR_READINGS for s in (64, 48)} <= set(claims))

    assert (r / "figures/verdict_matrix.png").stat().st_size > 0 and "verdict_matrix.png" in html
    assert planned_jobs(snakemake(wf, "-n", "report")) == {}  # finished: nothing reruns


@pytest.mark.xdist_group("micro")
@pytest.mark.parametrize("change", GROWTH)
def test_growing_the_grid_reruns_only_what_depends_on_it(finished_micro, change):
    case = GROWTH[change]  # tests/growth.py: also the rows of the docs' "Growing a run" table
    config = micro_with(finished_micro, change, **case.sections)
    assert planned_jobs(snakemake(finished_micro, "-n", "all", config=config)) == case.plan


@pytest.mark.xdist_group("micro")
def test_the_same_config_in_another_key_order_reruns_nothing(finished_micro):
    config = micro_with(finished_micro, "sorted", sort_keys=True)
    assert config.read_text() != MICRO.read_text()
    assert planned_jobs(snakemake(finished_micro, "-n", "all", config=config)) == {}


@pytest.mark.xdist_group("micro")
def test_editing_one_figure_script_reruns_that_figure_only(finished_micro, tmp_path):
    wf = tmp_path / "wf"
    shutil.copytree(finished_micro, wf, symlinks=True)  # the finished run, with its .snakemake records
    script = wf / "workflow_scripts" / "fig5.py"
    script.write_text(script.read_text() + "\n# edited\n")
    assert planned_rules(snakemake(wf, "-n", "report")) == {"fig5", "report"}


@pytest.mark.xdist_group("micro")
def test_per_run_measure_jobs_write_the_same_bytes_as_separate_jobs(finished_micro, tmp_path):
    """measure_jobs: per_run (the tiny default) measures every checkpoint of a run in one job,
    PosENet included: 3 jobs instead of 9 extraction and 6 PosENet jobs, and every PPP JSON/NPZ
    and PosENet JSON byte for byte what the separate jobs (the micro run's per_checkpoint) wrote."""
    wf = tmp_path / "wf"
    shutil.copytree(finished_micro, wf, symlinks=True)
    per_run = micro_with(wf, "per_run")
    per_run.write_text(per_run.read_text() + "measure_jobs: per_run\n")
    measured = sorted(p for p in (wf / "results").glob("p*/**/epoch_*") if p.suffix in (".json", ".npz"))
    assert {p.relative_to(wf / "results").parts[0] for p in measured} == {"ppp", "posenet"}
    before = {p: p.read_bytes() for p in measured}
    plan = planned_jobs(snakemake(wf, "-n", "table2", "--forcerun", "ppp", config=per_run))
    assert plan["ppp"] == 3 and "posenet" not in plan
    snakemake(wf, "table2", "--forcerun", "ppp", config=per_run)
    assert sorted(p for p in (wf / "results").glob("p*/**/epoch_*") if p.suffix in (".json", ".npz")) == measured
    for path, old in before.items():
        assert path.read_bytes() == old, path
    assert len(list((wf / "results/logs/ppp").glob("*_seed0.log"))) == 3  # one log per run
    # A PosENet setting now reruns the measurement jobs (and what reads PosENet), nothing else.
    changed = micro_with(wf, "per_run_posenet", posenet={"trials": 3})
    changed.write_text(changed.read_text() + "measure_jobs: per_run\n")
    assert planned_jobs(snakemake(wf, "-n", "all", config=changed)) == {"ppp": 3, **dict.fromkeys(AGGREGATES, 1)}


def test_a_size_below_an_archs_minimum_fails_at_start_up_naming_arch_padding_and_minimum(tmp_path):
    """VGG19's four pools need 32 px with zeros padding; no job may start (the dry run fails
    while parsing the config). circular and none at 16 px would run at their net's smallest
    input, as training does; zeros has no such rule."""
    wf = workflow_copy(tmp_path)
    proc = snakemake(wf, "-n", "all", config=micro_with(wf, "small_size", ppp={"input_sizes": [64, 16]}), check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "ppp.input_sizes: 16 px is below the smallest input vgg19 can see with padding zeros (32 px)" in text
    assert not (wf / "results").exists()


TINY_NET = """
from torch import nn


def build():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )
"""


@pytest.mark.xdist_group("micro")
def test_external_models_are_measured_into_table2(finished_micro, tmp_path):
    """config external: a user's CNN (a .py factory) with a generated weights file, measured
    like a checkpoint; adding it runs its jobs and the tables, never a training job. A
    weights file that does not fit fails its job naming the key; nothing computed is lost."""
    import importlib.util

    import torch

    wf = tmp_path / "wf"
    shutil.copytree(finished_micro, wf, symlinks=True)
    (wf / "nets").mkdir()
    (wf / "nets" / "tiny.py").write_text(TINY_NET)
    spec = importlib.util.spec_from_file_location("tiny_net", wf / "nets" / "tiny.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(7)
    state = module.build().state_dict()
    torch.save(state, wf / "tiny.pth")
    config = yaml.safe_load(MICRO.read_text())
    config["external"] = [
        {"name": "tiny_trained", "module": "nets/tiny.py:build", "weights": "tiny.pth"},
        {"name": "tiny_reflect", "module": "nets/tiny.py:build", "padding": "reflect", "taps": {"s4": "2", "s8": "4"}},
    ]
    path = wf / "external.yaml"
    path.write_text(yaml.safe_dump(config))
    assert planned_jobs(snakemake(wf, "-n", "all", config=path)) == {
        "external_ppp": 2, "table2": 1, "fig4_external": 1, "all": 1}
    snakemake(wf, "all", config=path)
    r = wf / "results"
    table = pd.read_csv(r / "tables/table2.csv", keep_default_na=False)
    ext = table[table["stage"] == "pretrained (external)"].set_index("external")
    assert list(ext.index) == ["tiny_trained", "tiny_reflect"] and list(ext["arch"]) == ["build", "build"]
    assert list(ext["padding"]) == ["zeros", "reflect"] and (ext["mae_ppp_mean"].astype(float) > 0).all()
    assert (table["stage"] != "pretrained (external)").sum() == 6  # the grid's rows are unchanged
    assert "$\\checkmark$ (tiny\\_trained)" in (r / "tables/table2.tex").read_text()
    trained = json.loads((r / "external/tiny_trained/ppp.json").read_text())
    assert trained["config"]["weights"] == "tiny.pth" and list(trained["layers"]) == ["stride4", "stride8"]
    assert list(json.loads((r / "external/tiny_reflect/ppp.json").read_text())["layers"]) == ["s4", "s8"]
    assert (r / "figures/fig4_external_ppp.png").stat().st_size > 0
    # Weights that do not fit: the job fails naming the file and key; the table stays as it was.
    del state["0.bias"]
    torch.save(state, wf / "tiny.pth")
    before = (r / "tables/table2.csv").read_text()
    proc = snakemake(wf, "all", config=path, check=False)
    assert proc.returncode != 0
    assert "weights tiny.pth: missing key '0.bias'" in (r / "logs/external/tiny_trained.log").read_text()
    assert (r / "tables/table2.csv").read_text() == before
    config["external"].append(dict(config["external"][0]))
    path.write_text(yaml.safe_dump(config))
    proc = snakemake(wf, "-n", "all", config=path, check=False)
    assert proc.returncode != 0 and "external: the name 'tiny_trained' is used twice" in proc.stdout + proc.stderr


def test_changing_one_arch_reruns_that_arch_only(tmp_path):
    """Two archs trained (one epoch); a new width for one of them changes its jobs' params only."""
    wf = workflow_copy(tmp_path)
    two = {"archs": {"vgg19": {"width": 0.0625}, "vgg16": {"width": 0.0625}}, "paddings": ["zeros"], "epochs": 1,
           "n_train": 32, "n_val": 16}
    config = micro_with(wf, "two", train=two)
    targets = [f"results/train/{a}/zeros/seed0/log.csv" for a in ("vgg19", "vgg16")]
    snakemake(wf, *targets, config=config)
    wider = micro_with(wf, "wider", train={**two, "archs": {**two["archs"], "vgg19": {"width": 0.125}}})
    plan = snakemake(wf, "-n", *targets, config=wider, quiet=False)
    assert planned_jobs(plan) == {"train": 1}
    assert "arch=vgg19" in plan.stdout and "arch=vgg16" not in plan.stdout
    # A recipe key shared by every arch (lr) reruns both; a runtime-only key (workers) none.
    assert planned_jobs(snakemake(wf, "-n", *targets,
                                  config=micro_with(wf, "lr", train={**two, "lr": 0.01}))) == {"train": 2}
    assert planned_jobs(snakemake(wf, "-n", *targets,
                                  config=micro_with(wf, "workers", train={**two, "workers": 1}))) == {}


def test_one_figure_builds_only_what_it_needs(tmp_path):
    wf = workflow_copy(tmp_path)
    planned = planned_rules(snakemake(wf, "-n", "fig5"))
    assert planned == {"tiles", "train", "ppp", "fig5"}
    fig4 = planned_jobs(snakemake(wf, "-n", "fig4"))
    assert set(fig4) == {"tiles", "train", "ppp", "fig4"}
    # Fig 4 needs epochs 0 and 2 only (micro: epochs 2, checkpoints every epoch): 3 paddings x 2.
    assert fig4["ppp"] == 6


@pytest.mark.parametrize(
    "bad,expected",
    [
        ("train:\n  paddings: [zeros, mirror]\n",
         "'mirror' is not one of ['zeros', 'circular', 'reflect', 'replicate', 'randn', 'none']"),
        ("tiles:\n  colour: red\n", "'colour' was unexpected"),
        ("tiles:\n  source: wms\n", "'wms' is not one of ['synthetic', 'xyz', 'folder']"),
    ],
)
def test_bad_config_is_refused_before_any_job(tmp_path, bad, expected):
    wf = workflow_copy(tmp_path)
    config = yaml.safe_load(MICRO.read_text())
    for section, values in yaml.safe_load(bad).items():
        config[section].update(values)
    (wf / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(wf, "-n", "all", config=wf / "bad.yaml", check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert not (wf / "results").exists()


def test_none_seeds_outside_the_seeds_fail_at_start_up_naming_both(tmp_path):
    wf = workflow_copy(tmp_path)
    proc = snakemake(wf, "-n", "all", config=micro_with(wf, "none_seeds", train={"none_seeds": [3]}), check=False)
    assert proc.returncode != 0
    assert "train.none_seeds: [3] must be a subset of train.seeds [0]" in proc.stdout + proc.stderr
    assert not (wf / "results").exists()
