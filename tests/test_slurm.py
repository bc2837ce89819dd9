"""profiles/slurm on a real SLURM cluster: munged + slurmctld + slurmd on localhost, one node.

The micro workflow runs with the shipped profile (partition and sizes scaled to this node,
as a user of a small cluster would) to completion; the test then checks that the torch jobs
really went through SLURM (job ids in the plugin's job logs, COMPLETED in SLURM's job
completion log, the GPU request in squeue) and the data/plot steps did not. Skips, with the
reason, where SLURM cannot run; with PPP_REQUIRE_SLURM=1 (CI) that is a failure instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers import MICRO, ROOT, planned_rules, workflow_copy

_spec = importlib.util.spec_from_file_location("localcluster", ROOT / "tests" / "slurm" / "localcluster.py")
lc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lc)

TARGETS = ("table2", "fig5")  # tiles (local) -> train, ppp, ... (SLURM, GPU) -> table2, fig5 (local)
GPU_RULES = {"train", "ppp"}
TIMEOUT_S = 900


@pytest.fixture
def cluster():
    """A started LocalCluster; afterwards every daemon it started is gone, and nothing else is left."""
    before = lc.processes_named(lc.DAEMONS + lc.SPAWNED)
    c = lc.LocalCluster(partition="ppp", gpus=2)
    t0 = time.monotonic()
    try:
        c.start()
    except lc.ClusterUnavailable as e:
        shutil.rmtree(c.root, ignore_errors=True)
        if os.environ.get("PPP_REQUIRE_SLURM") == "1":
            pytest.fail(f"PPP_REQUIRE_SLURM=1 but no local SLURM cluster: {e}")
        pytest.skip(f"no local SLURM cluster: {e}")
    print(f"slurm: cluster up in {time.monotonic() - t0:.1f} s ({c.root})")
    yield c
    c.stop()
    leaked = {pid: lc._comm(pid) for pid in (lc.processes_named(lc.DAEMONS + lc.SPAWNED) - before) | c.job_processes()}
    shutil.rmtree(c.root, ignore_errors=True)
    assert not leaked, f"processes left behind: {leaked}"


def small_cluster_profile(cluster, wf: Path, dest: Path) -> Path:
    """profiles/slurm with what a small cluster needs changed (partition, sizes that fit one
    2-CPU node) and the test's speed-ups (status checks after 1 s, squeue: no accounting DB)."""
    prof = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    small = {"slurm_partition": cluster.partition, "mem_mb": 1000, "runtime": 15}
    prof["default-resources"].update(small)
    for res in prof["set-resources"].values():
        res.update(small, cpus_per_task=1)
    prof["set-threads"] = {rule: 1 for rule in prof["set-threads"]}
    prof.update({
        "slurm-init-seconds-before-status-checks": 1, "slurm-status-command": "squeue", "slurm-no-account": True,
        "slurm-keep-successful-logs": True, "slurm-logdir": str(wf / "slurm_logs"), "retries": 0, "latency-wait": 5,
    })
    dest.mkdir()
    (dest / "config.yaml").write_text(yaml.safe_dump(prof))
    return dest


def local_rules() -> set[str]:
    """The Snakefile's ``localrules:`` list: the rules that run on the submitting host."""
    block = re.search(r"^localrules:\n((?:\s+\w+,?\n)+)", (ROOT / "Snakefile").read_text(), re.M)
    return {name.strip(" ,") for name in block[1].split()}


def run_snakemake(wf: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    """Snakemake in its own session: on timeout the whole group is killed (it can ignore SIGTERM)."""
    cmd = [sys.executable, "-m", "snakemake", *args, "--configfile", str(MICRO)]
    proc = subprocess.Popen(cmd, cwd=wf, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"snakemake ran past {TIMEOUT_S} s:\n{out[-4000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def test_default_profile_cannot_override_the_slurm_profile():
    # Snakemake applies profiles/default to every run from the checkout and lets it win over
    # --profile: a key set differently (or `cores`, which caps every job's threads) would
    # silently change cluster runs.
    default, slurm = (yaml.safe_load((ROOT / "profiles" / p / "config.yaml").read_text()) for p in ("default", "slurm"))
    assert not default.keys() & {"cores", "jobs", "executor"}
    assert ({k: default[k] for k in default.keys() & slurm.keys()}
            == {k: slurm[k] for k in default.keys() & slurm.keys()})



def test_slurm_profile_resources_in_a_dry_run(tmp_path):
    """The shipped profile through Snakemake and the plugin (no cluster needed for -n)."""
    wf = workflow_copy(tmp_path)
    shutil.copytree(ROOT / "profiles", wf / "profiles")
    proc = run_snakemake(wf, dict(os.environ), "-n", "table2", "fig5", "--profile", "profiles/slurm")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "workflow specific profile profiles/default" in proc.stdout
    resources = {}
    for rule, res in re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", proc.stdout, re.M):
        resources.setdefault(rule, dict(kv.split("=", 1) for kv in res.split(", ")))
    prof = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert GPU_RULES <= resources.keys() & prof["set-resources"].keys()
    for rule in resources.keys() & prof["set-resources"].keys():
        want = {k: str(v) for k, v in prof["set-resources"][rule].items()}
        assert want.items() <= resources[rule].items(), (rule, resources[rule])
        assert int(want["gpu"]) >= 1 and want["cpus_per_task"] == str(prof["set-threads"][rule])
    for rule in ("tiles", "table2", "fig5"):  # default-resources for everything else
        assert resources[rule]["runtime"] == str(prof["default-resources"]["runtime"]), (rule, resources[rule])


@pytest.mark.slow
def test_micro_workflow_through_slurm(cluster, tmp_path):
    wf = workflow_copy(tmp_path)
    shutil.copytree(ROOT / "profiles", wf / "profiles")  # profiles/default applies too, as in a checkout
    profile = small_cluster_profile(cluster, wf, tmp_path / "profile")
    planned = run_snakemake(wf, cluster.env, "-n", *TARGETS, "--profile", str(profile), "--quiet", "rules")
    assert planned.returncode == 0, planned.stdout[-3000:]
    counts = {k: int(n) for k, n in re.findall(r"^(\w+)\s+(\d+)$", planned.stdout.split("Job stats:")[-1], re.M)
              if k != "total"}
    assert set(counts) == planned_rules(planned) and GPU_RULES < set(counts), counts
    local = local_rules()
    assert {"tiles", "table1", "table2", "fig3", "fig4", "fig5", "report"} <= local and not GPU_RULES & local, local
    submitted = {rule: n for rule, n in counts.items() if rule not in local}
    assert {"tiles", *TARGETS} <= counts.keys() - submitted.keys(), local  # data and plot steps stay local

    t0 = time.monotonic()
    proc = run_snakemake(wf, cluster.env, *TARGETS, "--profile", str(profile))
    wall = time.monotonic() - t0
    print(f"slurm: micro {'+'.join(TARGETS)} through SLURM in {wall:.0f} s")
    assert proc.returncode == 0, proc.stdout[-4000:] + "\n--- slurmctld.log\n" + cluster._log_tail("slurmctld")
    r = wf / "results"
    for out in ("tables/table2.csv", "tables/table2.tex", "figures/fig5_chronological_ppp.png"):
        assert (r / out).stat().st_size > 0, out

    # One plugin job log per submitted job, named by its SLURM job id; none for local rules.
    logs = {p: p.relative_to(wf / "slurm_logs").parts[0].removeprefix("rule_")
            for p in (wf / "slurm_logs").rglob("*.log")}
    ids = {int(p.stem): rule for p, rule in logs.items()}
    assert sorted(logs.values()) == sorted(rule for rule, n in submitted.items() for _ in range(n)), logs
    # SLURM's own record: every one of those ids COMPLETED on the test partition, and no other job ran.
    done = {int(m[1]): m[2] for m in re.finditer(r"JobId=(\d+) .*?JobState=(\w+) Partition=(\w+)",
                                                 (cluster.root / "jobcomp.txt").read_text())}
    assert done.keys() == ids.keys() and set(done.values()) == {"COMPLETED"}, (done, ids)
    assert all(f"Partition={cluster.partition}" in line
               for line in (cluster.root / "jobcomp.txt").read_text().splitlines())
    # The profile's GPU requests reached sbatch (--gpus=1 -> one GRES gpu per job), and only those.
    gpu = {rule
           for rule, res in yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["set-resources"].items()
           if res.get("gpu")}

    q = cluster.run("squeue", "--states=all", "--noheader", "-O", "JobID:12,tres-per-job:30").stdout.split("\n")
    tres = {int(line.split()[0]): line.split()[1] for line in q if line.strip()}
    assert (GPU_RULES <= gpu
            and {i: tres[i] for i in ids} == {i: "gres:gpu:1" if ids[i] in gpu else "N/A" for i in ids}), tres


