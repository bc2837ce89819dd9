"""The README and the documentation site: size and set-up commands, a Python example that runs,
generated pages that match their sources, a valid citation file, a site that builds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
OLD_NAMES = ("ppp_metrics", "rules/extract.smk", "rules/figures.smk")


def _text_outside_generated_blocks(text: str) -> str:
    return re.sub(r"<!-- BEGIN generated:(\w+) -->.*?<!-- END generated:\1 -->", "", text, flags=re.S)


def test_readme_is_a_front_page():
    data = README.read_bytes()
    lines = data.count(b"\n")
    assert len(data) <= 8192, f"README.md is {len(data)} bytes (at most 8192)"
    assert lines <= 150, f"README.md has {lines} lines (at most 150)"


def test_readme_starts_with_the_two_set_up_commands():
    """Right after the title: one command runs the main job on the default config, one runs the
    tests, and the test command is the one .ci/run runs verbatim."""
    lines = README.read_text().splitlines()
    assert lines[0].startswith("# ") and lines[1] == "" and lines[2] == "```bash"
    run, test = lines[3], lines[4]
    assert lines[5] == "```"
    assert run.endswith(".venv/bin/snakemake --cores all all") and "pip install -e '.[workflow]'" in run
    assert any(line.startswith(test) for line in (ROOT / ".ci" / "run").read_text().splitlines()), test


def _readme_python() -> str:
    section = README.read_text().split("## Measure PPP of your CNN", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_example_is_short():
    assert len(_readme_python().strip().splitlines()) <= 10


@pytest.mark.slow
def test_readme_example_runs(tmp_path):
    """The README's Python block, as a user would paste it (torchvision's resnet18, random init)."""
    pytest.importorskip("torchvision")
    code = "import torch\ntorch.set_num_threads(1)\n" + _readme_python()
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    taps = re.findall(r"^(stride\d+): SNR-PPP ([0-9.e+-]+), MAE-PPP ([0-9.e+-]+)", proc.stdout, re.M)
    assert [t[0] for t in taps] == ["stride4", "stride8", "stride16", "stride32"], proc.stdout
    assert all(float(mae) > 0 for _, _, mae in taps)  # reflect padding leaves a pattern


def test_the_readmes_cli_line_parses():
    from pppcore.cli import build_parser

    section = README.read_text().split("## Measure PPP of your CNN", 1)[1].split("## ", 1)[0]
    line = section.split("```bash\n", 1)[1].split("\n", 1)[0]
    assert line.startswith("python -m pppcore ")
    args = build_parser().parse_args(line.split()[3:])
    assert args.command == "measure" and args.torchvision == "resnet18"


def test_configuration_pages_match_the_schema():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "config_doc.py"), "--check"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_schema_key_is_on_the_configuration_page():
    schema = yaml.safe_load((ROOT / "pppcore" / "repro" / "config.schema.yaml").read_text())
    page = (ROOT / "config" / "README.md").read_text()
    for key, node in schema["properties"].items():
        assert f"`{key}`" in page
        for sub in node.get("properties", {}):
            assert f"`{key}.{sub}`" in page


@pytest.mark.slow
def test_dry_run_job_counts_match_the_committed_csv():
    """benchmarks/results/dry_run_jobs.csv (which the docs quote) is what today's dry runs plan."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dry_run_jobs.py"), "--check"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]


def test_typed_text_uses_the_current_names():
    for path in [README, *sorted(DOCS.glob("*.md"))]:
        text = _text_outside_generated_blocks(path.read_text())
        for name in OLD_NAMES:
            assert name not in text, f"{path.relative_to(ROOT)} names {name}"


def test_citation_file_is_valid():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    assert "2206.01202" in cff["preferred-citation"]["url"]
    cffconvert = shutil.which("cffconvert", path=str(Path(sys.executable).parent)) or shutil.which("cffconvert")
    if cffconvert is None:
        pytest.skip("cffconvert not installed: schema validation skipped")
    proc = subprocess.run([cffconvert, "--validate", "-i", str(ROOT / "CITATION.cff")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_docs_site_builds_strict(tmp_path):
    """mkdocs build --strict: no warning, no broken link (needs the [docs] extra)."""
    for module in ("mkdocs", "material", "mkdocstrings"):
        pytest.importorskip(module)
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True,
 text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "index.html").exists()
