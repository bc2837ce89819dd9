"""Nothing lost, whatever happens to a run: the whole ``snakemake`` process group killed at
several moments of the micro DAG, each time resumed with the README's recovery command
(``snakemake --unlock``, then the same target), ends with the same bytes as a run never
interrupted; a second ``snakemake`` on a running folder is refused by Snakemake's lock."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import MICRO, ROOT, snakemake, workflow_copy

# What later jobs and the user read: compared byte for byte with an uninterrupted run.
COMPARED = ("tables/*.csv", "ppp/**/*.json", "ppp/**/*.npz", "posenet/**/*.json", "bhv/**/*.csv", "bhv/**/*.json")

# (signal, moment, what marks it): the run is killed as soon as the mark appears.
MOMENTS = (
    (signal.SIGKILL, "training, a state saved", ".state/train/*/*/seed*/state.pt"),
    (signal.SIGTERM, "BHV", "logs/bhv/**/*.log"),
    (signal.SIGKILL, "extraction", "logs/ppp/*.log"),
    (signal.SIGKILL, "PosENet", "logs/posenet/*.log"),
    (signal.SIGKILL, "figures", "logs/fig*.log"),
)


def user_checkout(folder: Path) -> Path:
    """A workflow copy with profiles/, as a clone has it: profiles/default's rerun-incomplete is
    part of the README's recovery command (without it, a killed job's outputs stop the rerun)."""
    folder.mkdir()
    wf = workflow_copy(folder)
    shutil.copytree(ROOT / "profiles", wf / "profiles")
    return wf


def start(wf: Path, *args: str) -> subprocess.Popen:
    """``snakemake ARGS`` on the micro config in its own session (a process group to kill)."""
    cmd = [sys.executable, "-m", "snakemake", *args, "--cores", "2", "--quiet", "rules", "--configfile", str(MICRO)]
    with open(wf / "snakemake.out", "a") as out:  # a file, not a pipe: a full pipe would stall the run
        return subprocess.Popen(cmd, cwd=wf, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def tail(wf: Path) -> str:
    return (wf / "snakemake.out").read_text()[-3000:]


def kill_when(proc: subprocess.Popen, wf: Path, mark: str, sig: int, timeout: float = 600) -> None:
    """Send ``sig`` to the whole process group once a new file matching ``mark`` appears."""
    results = wf / "results"
    before = set(results.glob(mark))
    deadline = time.monotonic() + timeout
    while not set(results.glob(mark)) - before:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before {mark} appeared:\n{tail(wf)}")
        if time.monotonic() > deadline:
            pytest.fail(f"{mark} did not appear within {timeout} s")
        time.sleep(0.05)
    os.killpg(proc.pid, sig)
    if sig == signal.SIGTERM:  # Snakemake stops its jobs and exits; a group member left over is killed too
        try:
            proc.wait(timeout=120)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    proc.wait(timeout=120)


def outputs(results: Path) -> dict[str, bytes]:
    """Each compared file's bytes; a BHV JSON's without its trials' wall-clock ``seconds``."""
    return {str(p.relative_to(results)): timeless(p) for pattern in COMPARED for p in sorted(results.glob(pattern))}


def timeless(path: Path) -> bytes:
    if not (path.suffix == ".json" and path.parts[-4] == "bhv"):
        return path.read_bytes()
    data = json.loads(path.read_text())
    for trial in data["trials"]:
        trial.pop("seconds")
    return json.dumps(data, sort_keys=True).encode()


@pytest.mark.slow
def test_killed_at_every_stage_and_resumed_gives_the_uninterrupted_bytes(tmp_path):
    reference = user_checkout(tmp_path / "reference")
    snakemake(reference, "all")
    expected = outputs(reference / "results")
    assert any(k.startswith("ppp/") for k in expected) and any(k.startswith("posenet/") for k in expected)
    assert any(k.startswith("tables/") for k in expected)

    wf = user_checkout(tmp_path / "interrupted")
    results = wf / "results"
    for sig, moment, mark in MOMENTS:
        proc = start(wf, "all")
        kill_when(proc, wf, mark, sig)
        assert proc.returncode != 0, f"killed during {moment}, yet the run succeeded"
        snakemake(wf, "--unlock")  # the README's recovery command: --unlock, then the same target
    snakemake(wf, "all")
    got = outputs(results)
    assert sorted(got) == sorted(expected)
    changed = [name for name in expected if got[name] != expected[name]]
    assert not changed, f"differ from the uninterrupted run: {changed}"
    assert not list(results.rglob(".*.tmp*")), "a temporary file of an interrupted write was left behind"


@pytest.mark.slow
def test_a_second_run_on_the_same_folder_is_refused_and_the_first_finishes(tmp_path):
    wf = workflow_copy(tmp_path)
    first = start(wf, "table2")
    deadline = time.monotonic() + 300
    while not list((wf / "results" / "logs" / "train").glob("*.log")):  # the first run holds the lock
        assert first.poll() is None and time.monotonic() < deadline, "the first run ended before it could be joined"
        time.sleep(0.05)
    second = snakemake(wf, "table2", check=False, quiet=False)
    text = second.stdout + second.stderr
    assert second.returncode != 0 and "Directory cannot be locked" in text, text[-2000:]
    assert first.wait(timeout=900) == 0, tail(wf)
    assert (wf / "results" / "tables" / "table2.csv").stat().st_size > 0
    assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(snakemake(wf, "-n", "table2", quiet=False))
