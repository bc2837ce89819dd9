"""How many jobs each scale plans: the dry runs' job stats, as a committed CSV the docs quote.

For each scale (tiny: ``config.yaml``, target ``all``; central: ``config/central.yaml``, target
``central``; paper: ``config/paper.yaml``, target ``all``) this runs ``snakemake TARGET -n
--configfile FILE`` in a scratch copy of the workflow (no results yet, so every job is planned)
and keeps Snakemake's "Job stats" table: one row per (scale, rule) in
``benchmarks/results/dry_run_jobs.csv``. ``benchmarks/quote_results.py`` renders the docs'
job counts from that file; ``--check`` (and tests/test_docs.py) exits 1 when a fresh dry run
plans other counts than the committed file says.

Usage: python benchmarks/dry_run_jobs.py [--check]
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "dry_run_jobs.csv"
# scale -> (config file, target)
SCALES = {"tiny": ("config.yaml", "all"), "central": ("config/central.yaml", "central"),
          "paper": ("config/paper.yaml", "all")}
WORKFLOW = ("Snakefile", "config.yaml", "rules", "workflow_scripts", "config", "envs", "report", "profiles")


def job_stats(text: str) -> dict[str, int]:
    """Rule -> job count of the last "Job stats" table of a dry run's output."""
    if "Job stats:" not in text:
        raise RuntimeError("the dry run printed no job stats:\n" + text[-3000:])
    counts = {}
    for row in text.split("Job stats:")[-1].splitlines()[3:]:
        if not row.strip() or row.startswith("total"):
            break
        name, count = row.split()
        counts[name] = int(count)
    return counts


def plan(scale: str) -> dict[str, int]:
    """The dry run of ``scale`` in a fresh copy of the workflow."""
    configfile, target = SCALES[scale]
    with tempfile.TemporaryDirectory() as tmp:
        wf = Path(tmp) / "wf"
        wf.mkdir()
        for name in WORKFLOW:
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, wf / name)
        cmd = [sys.executable, "-m", "snakemake", target, "-n", "--cores", "2", "--quiet", "rules",
               "--configfile", configfile]
        proc = subprocess.run(cmd, cwd=wf, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[2:])} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
        return job_stats(proc.stdout + proc.stderr)


def render(plans: dict[str, dict[str, int]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["scale", "config", "target", "rule", "jobs"])
    for scale, counts in plans.items():
        configfile, target = SCALES[scale]
        for rule in sorted(counts):
            w.writerow([scale, configfile, target, rule, counts[rule]])
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a dry run plans other counts than the committed CSV")
    args = ap.parse_args()
    text = render({scale: plan(scale) for scale in SCALES})
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT).as_posix()} differs from today's dry runs; "
                  "run python benchmarks/dry_run_jobs.py")
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
