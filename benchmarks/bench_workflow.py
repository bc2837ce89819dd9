"""Budget benchmark of the Snakemake workflow (issue 4 item 6; issue 5 item 5).

Measures, each in a fresh copy of the workflow with an empty results/:
  (a) `snakemake --cores 2 all` on the default (tiny) config -- target <= 15 min on a 2-core
      machine with nothing else running (issue 14: the paper's whole Table 2 grid); jobs run
      side by side, so the wall time is split between the PPP part and the baselines in
      proportion to their job seconds (from Snakemake's benchmark files, also listed per rule);
  (b) `snakemake -n all --configfile config/paper.yaml` (the full paper DAG) -- <= 10 s;
  (c) the micro config of the tests (tests/micro.yaml), `all` -- <= 3 min.
Prints a table and writes CSV (default benchmarks/results/bench_workflow.csv).

    python benchmarks/bench_workflow.py [--skip-default] [--cores 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("Snakefile", "config.yaml", "rules", "workflow_scripts", "config", "envs", "report")
BASELINE_RULES = ("bhv", "posenet", "table1", "fig3")


def workflow_copy(dst: Path, config: Path | None = None) -> Path:
    dst.mkdir(parents=True)
    for name in FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst / name)
    if config is not None:  # --configfile merges nested dicts: replace the default instead
        shutil.copy(config, dst / "config.yaml")
    return dst


def run(cmd: list[str], cwd: Path) -> float:
    tic = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - tic
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def rule_seconds(results: Path) -> dict[str, float]:
    """Wall seconds per rule family, summed over Snakemake's benchmark TSVs."""
    totals: dict[str, float] = defaultdict(float)
    for tsv in (results / "benchmarks").rglob("*.tsv"):
        rel = tsv.relative_to(results / "benchmarks")
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        with open(tsv) as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        totals[rule] += float(row["s"])
    return dict(totals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--skip-default", action="store_true", help="only the dry run and the micro DAG")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_workflow.csv"))
    ap.add_argument("--keep", help="copy the default run's results/ here (to read its tables and figures)")
    ap.add_argument("--from-run", nargs=2, metavar=("RESULTS", "WALL_S"),
                    help="instead of (a), summarise a finished default run: its results/ and measured wall seconds "
                         "(e.g. the README's first command timed in a fresh clone)")
    args = ap.parse_args()
    sm = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--quiet", "rules"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paper = workflow_copy(Path(tmp) / "paper")
        rows.append({"run": "paper DAG dry run", "seconds": run([*sm, "-n", "all", "--configfile", "config/paper.yaml"], paper), "budget_s": 10})
        micro = workflow_copy(Path(tmp) / "micro", ROOT / "tests" / "micro.yaml")
        rows.append({"run": "micro DAG (tests/micro.yaml)", "seconds": run([*sm, "all"], micro), "budget_s": 180})
        if args.from_run or not args.skip_default:
            if args.from_run:
                results, total = Path(args.from_run[0]), float(args.from_run[1])
            else:
                tiny = workflow_copy(Path(tmp) / "tiny")
                total, results = run([*sm, "all"], tiny), tiny / "results"
                if args.keep:
                    shutil.copytree(results, args.keep, dirs_exist_ok=True)
            per_rule = rule_seconds(results)
            baselines = sum(s for r, s in per_rule.items() if r.startswith(BASELINE_RULES))
            # Jobs run side by side: split the wall time in proportion to the job seconds.
            share = baselines / sum(per_rule.values())
            rows.append({"run": "default config, all (wall)", "seconds": total, "budget_s": 15 * 60})
            rows.append({"run": "  PPP part (wall share)", "seconds": total * (1 - share), "budget_s": ""})
            rows.append({"run": "  baselines (wall share)", "seconds": total * share, "budget_s": ""})
            for rule, s in sorted(per_rule.items(), key=lambda kv: -kv[1]):
                rows.append({"run": f"  rule {rule} (job seconds, summed)", "seconds": s, "budget_s": ""})
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for r in rows:
        r["seconds"] = round(r["seconds"], 1)
        r["commit"] = commit or "unknown"
        r["cores"] = args.cores
        r["cpus_on_machine"] = os.cpu_count()
    print(f"{'run':<44}{'seconds':>10}{'budget s':>10}")
    for r in rows:
        print(f"{r['run']:<44}{r['seconds']:>10}{r['budget_s']!s:>10}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
