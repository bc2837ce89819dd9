"""The Snakemake workflow, driven through its command line like a user would."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MICRO = ROOT / "tests" / "micro.yaml"


def workflow_copy(tmp_path: Path) -> Path:
    """The workflow's files in a scratch folder, so a test may edit them."""
    wf = tmp_path / "wf"
    wf.mkdir()
    shutil.copy(ROOT / "Snakefile", wf)
    # The micro config *is* the default here: --configfile merges nested keys into config.yaml,
    # so the default's archs would otherwise stay in the grid.
    shutil.copy(MICRO, wf / "config.yaml")
    for folder in ("rules", "workflow_scripts", "config", "envs", "report"):
        shutil.copytree(ROOT / folder, wf / folder)
    return wf


def snakemake(wf: Path, *args: str, config: Path = MICRO, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", *args, "--cores", "2", "--quiet", "rules", "--configfile", str(config)]
    proc = subprocess.run(cmd, cwd=wf, capture_output=True, text=True, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def planned_rules(proc: subprocess.CompletedProcess) -> set[str]:
    """Rule names of the dry run's last "Job stats" table (rows between its header and total)."""
    rows = (proc.stdout + proc.stderr).split("Job stats:")[-1].splitlines()[3:]
    names = set()
    for row in rows:
        if not row.strip() or row.startswith("total"):
            break
        names.add(row.split()[0])
    return names


def test_micro_dag_end_to_end_then_edit_one_figure(tmp_path):
    wf = workflow_copy(tmp_path)
    snakemake(wf, "report")  # everything of `all`, then the HTML report over it
    r = wf / "results"
    for out in ("tables/table2.csv", "tables/table2.tex", "figures/fig5_chronological_ppp.png", "figures/fig5_chronological_ppp.pdf",
                "figures/fig4_ppp_grid.png", "figures/fig4_ppp_grid.pdf", "figures/fig2_principal_point_shift.png",
                "figures/fig2_principal_point_shift.csv", "figures/fig1_ppp_surfaces.png"):
        assert (r / out).stat().st_size > 0, out
    html = (r / "report.html").read_text()
    assert all(name in html for name in ("fig1_ppp_surfaces.png", "fig2_principal_point_shift.png", "fig4_ppp_grid.png", "fig5_chronological_ppp.png", "table2.csv"))
    assert "\\toprule" in (r / "tables/table2.tex").read_text()
    # Every job left a log and a benchmark.
    assert len(list((r / "logs").rglob("*.log"))) == len(list((r / "benchmarks").rglob("*.tsv"))) >= 10
    # Sec 4.1 at micro scale: training raises MAE-PPP at LoI 4 of a zeros-padded model.
    first, last = (json.loads((r / f"ppp/vgg19/zeros/seed0/epoch_{e:03d}.json").read_text()) for e in (0, 2))
    assert last["layers"]["block5"]["mae_ppp"] > first["layers"]["block5"]["mae_ppp"]
    # A none-padded model is its own twin: PPP is exactly 0 at every LoI, init and trained.
    for e in (0, 2):
        none = json.loads((r / f"ppp/vgg19/none/seed0/epoch_{e:03d}.json").read_text())
        assert none["alignment"]["input_size"] == [268, 268]  # the smallest input VGG19 can see unpadded
        assert [layer["mae_ppp"] for layer in none["layers"].values()] == [0.0] * 4
    # Editing one figure's plotting script reruns that figure only.
    script = wf / "workflow_scripts" / "fig5.py"
    script.write_text(script.read_text() + "\n# edited\n")
    assert planned_rules(snakemake(wf, "-n", "report")) == {"fig5", "report"}


def test_one_figure_builds_only_what_it_needs(tmp_path):
    wf = workflow_copy(tmp_path)
    planned = planned_rules(snakemake(wf, "-n", "fig5"))
    assert planned == {"tiles", "train", "ppp_metrics", "fig5"}
    fig4 = snakemake(wf, "-n", "fig4")
    assert planned_rules(fig4) == {"tiles", "train", "ppp_metrics", "fig4"}
    # Fig 4 needs epochs 0 and 2 only (micro: epochs 2, checkpoints every epoch): 3 paddings x 2.
    assert "ppp_metrics        6" in fig4.stdout + fig4.stderr


@pytest.mark.parametrize(
    "bad,expected",
    [
        ("train:\n  paddings: [zeros, mirror]\n", "'mirror' is not one of ['zeros', 'circular', 'reflect', 'replicate', 'randn', 'none']"),
        ("tiles:\n  colour: red\n", "'colour' was unexpected"),
        ("tiles:\n  source: wms\n", "'wms' is not one of ['synthetic', 'xyz', 'folder']"),
    ],
)
def test_bad_config_is_refused_before_any_job(tmp_path, bad, expected):
    wf = workflow_copy(tmp_path)
    import yaml

    config = yaml.safe_load(MICRO.read_text())
    for section, values in yaml.safe_load(bad).items():
        config[section].update(values)
    (wf / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(wf, "-n", "all", config=wf / "bad.yaml", check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert not (wf / "results").exists()
