"""Refactoring changes code, not results: the micro DAG, run with this checkout and with the
baseline commit (the code before the one-engine refactor), writes the same bytes.

Both runs happen here, on this machine and this torch build, so float rounding cannot differ
for any reason but the code. Only files that record when or how long a job ran are left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from helpers import ROOT, workflow_copy

# The last commit before the refactor (pppcore 0.1.0).
BASELINE = "5aefd271f9bf8772c5df87faeabcdabe93eb5533"
# What records wall time, host or Snakemake's own bookkeeping, not a result.
VOLATILE_FOLDERS = {"logs", "benchmarks", ".state"}
VOLATILE_FILES = {"report.html"}


def baseline_tree(dest: Path) -> Path:
    """The baseline commit's files in ``dest`` (from this clone's history; a shallow clone is deepened)."""
    if subprocess.run(["git", "cat-file", "-e", f"{BASELINE}^{{commit}}"], cwd=ROOT, capture_output=True).returncode:
        subprocess.run(["git", "fetch", "--quiet", "--unshallow"], cwd=ROOT, capture_output=True)
    archive = subprocess.run(["git", "archive", "--format=tar", BASELINE], cwd=ROOT, capture_output=True)
    assert archive.returncode == 0, f"baseline commit {BASELINE} is not in this clone: {archive.stderr.decode()[-500:]}"
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    (dest / "config.yaml").write_bytes((dest / "tests" / "micro.yaml").read_bytes())
    return dest


def run_micro(wf: Path, code: Path) -> dict[str, bytes]:
    """Run the micro DAG's ``all`` in ``wf`` importing ``pppcore`` from ``code``; every result file's bytes."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    cmd = [sys.executable, "-m", "snakemake", "all", "--cores", "2", "--quiet", "rules", "--configfile", "config.yaml"]
    proc = subprocess.run(cmd, cwd=wf, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = wf / "results"
    return {
        str(p.relative_to(results)): p.read_bytes()
        for p in sorted(results.rglob("*"))
        if p.is_file() and p.name not in VOLATILE_FILES and not VOLATILE_FOLDERS & set(p.relative_to(results).parts)
    }


@pytest.mark.slow
def test_the_micro_dag_writes_the_same_bytes_as_the_baseline_commit(tmp_path):
    old_tree = baseline_tree(tmp_path / "baseline")
    old = run_micro(old_tree, old_tree)
    new = run_micro(workflow_copy(tmp_path), ROOT)
    assert len(old) > 50  # the whole DAG: checkpoints, PPP, PosENet, BHV, tables, figures
    assert sorted(new) == sorted(old), f"only now: {sorted(set(new) - set(old))}; only before: {sorted(set(old) - set(new))}"
    differ = [name for name in old if new[name] != old[name]]
    assert not differ, f"{len(differ)} of {len(old)} result files changed: {differ[:20]}"
