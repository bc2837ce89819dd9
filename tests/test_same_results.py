"""Refactoring changes code, not results: the micro DAG, run with this checkout and with the
baseline commit (the code before the one-engine refactor), writes the same bytes.

Both runs happen here, on this machine and this torch build, so float rounding cannot differ
for any reason but the code. Left out: logs and benchmarks, and in the results what records
when or how fast a job ran (:func:`comparable`); outputs added or changed on purpose are listed
with their reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from helpers import ROOT

# The last commit before the refactor (pppcore 0.1.0).
BASELINE = "5aefd271f9bf8772c5df87faeabcdabe93eb5533"
# What records wall time, host or Snakemake's own bookkeeping, not a result.
VOLATILE_FOLDERS = {"logs", "benchmarks", ".state"}
VOLATILE_FILES = {"report.html"}
# Outputs added since the baseline, and outputs changed on purpose (with the reason).
ADDED = {"tables/claims_compact.csv": "the report's compact claims table"}
CHANGED = {
    "figures/fig5_chronological_ppp.png": "constrained layout: the suptitle no longer overlaps the first row",
    "figures/fig5_chronological_ppp.pdf": "the same figure as a PDF",
}


def comparable(name: str, data: bytes) -> object:
    """A result file's content less what records when or how fast it was made: a PDF's
    creation date, the seconds column of a training log and of BHV records. A checkpoint's
    tensors and fields (its zip folder name is the random temporary file name at the baseline)."""
    if name.endswith(".pdf"):
        return re.sub(rb"/CreationDate \(D:\d+Z\)", b"", data)
    if name.endswith("log.csv"):
        return [row.rsplit(",", 1)[0] for row in data.decode().splitlines()]
    if name.startswith("bhv/") and name.endswith(".json"):
        return json.loads(data, object_hook=lambda d: {k: v for k, v in d.items() if k != "seconds"})
    if name.endswith(".pt"):
        import torch

        blob = torch.load(BytesIO(data), weights_only=True)
        state = blob.pop("state_dict")
        return blob, {k: (v.dtype, v.shape, v.numpy().tobytes()) for k, v in state.items()}
    return data


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
    proc = subprocess.run(cmd, cwd=wf, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return result_files(wf)


def result_files(wf: Path) -> dict[str, bytes]:
    """Every result file's bytes under ``wf/results``, less logs, benchmarks and the report."""
    results = wf / "results"
    return {
        str(p.relative_to(results)): p.read_bytes()
        for p in sorted(results.rglob("*"))
        if p.is_file() and p.name not in VOLATILE_FILES and not VOLATILE_FOLDERS & set(p.relative_to(results).parts)
    }


def differences(old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    """What the two runs disagree on, beyond :data:`ADDED` and :data:`CHANGED`."""
    found = [f"only before: {n}" for n in sorted(set(old) - set(new))]
    found += [f"only now: {n}" for n in sorted(set(new) - set(old) - set(ADDED))]
    found += [f"changed: {n}" for n in sorted(set(old) & set(new) - set(CHANGED))
              if comparable(n, new[n]) != comparable(n, old[n])]
    return found


@pytest.mark.slow
@pytest.mark.xdist_group("micro")
def test_the_micro_dag_writes_the_same_results_as_the_baseline_commit(finished_micro, tmp_path):
    old_tree = baseline_tree(tmp_path / "baseline")
    old = run_micro(old_tree, old_tree)
    new = result_files(finished_micro)  # this checkout's micro run (to report: all, and report.html)
    assert len(old) > 50  # the whole DAG: checkpoints, PPP, PosENet, BHV, tables, figures
    assert set(ADDED) <= set(new) and set(CHANGED) <= set(old)
    found = differences(old, new)
    assert not found, f"{len(found)} of {len(old)} result files differ: {found[:20]}"
