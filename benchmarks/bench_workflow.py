"""Budget benchmark of the Snakemake workflow.

Measures, each in a fresh copy of the workflow with an empty results/:
  (a) `snakemake --cores 2 all` on the default (tiny) config -- target <= 15 min on a 2-core
      machine with nothing else running (the paper's whole Table 2 grid); jobs run
      side by side, so the wall time is split between the PPP part and the baselines in
      proportion to their job seconds (from Snakemake's benchmark files, also listed per rule);
  (b) `snakemake -n all --configfile config/paper.yaml` (the full paper DAG) -- <= 10 s;
  (c) the micro config of the tests (tests/micro.yaml), `all` -- <= 3 min;
  (d) with --central: `snakemake --configfile config/central.yaml central` (the run that
      decides Sec 4.1, merged into config.yaml as a user's run is) -- <= 20 min; --keep-central
      copies its claims, readings, reading fit and verdict matrix to a folder to commit.
Prints a table and writes CSV (default benchmarks/results/bench_workflow.csv); rows of runs
not made this time are kept, so each row names the commit it was measured at.

    python benchmarks/bench_workflow.py [--skip-default] [--central] [--cores 2]
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
# What the central run commits (benchmarks/results/central_run/), relative to its results folder.
CENTRAL_FILES = ("tables/claims.csv", "tables/claims.md", "tables/readings.csv", "tables/reading_fit.csv",
                 "tables/reading_fit_summary.csv", "tables/table2.csv", "figures/verdict_matrix.png")


def workflow_copy(dst: Path, config: Path | None = None) -> Path:
    dst.mkdir(parents=True)
    for name in FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst / name)
    if config is not None:  # --configfile merges nested dicts: replace the default instead
        shutil.copy(config, dst / "config.yaml")
    return dst


def run(cmd: list[str], cwd: Path) -> float:
    # the copy is no git checkout: the claims tables name the commit they were run at from here
    describe = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    tic = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PPP_CODE_COMMIT": describe or "unknown"})
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
    ap.add_argument("--central", action="store_true", help="also (d), the central run (config/central.yaml)")
    ap.add_argument("--skip-quick", action="store_true", help="skip (b) and (c)")
    ap.add_argument("--keep-central", help="copy the central run's committed files here")
    ap.add_argument("--from-run", nargs=2, metavar=("RESULTS", "WALL_S"),
                    help="instead of (a), summarise a finished default run: its results/ and measured wall seconds "
                         "(e.g. the README's first command timed in a fresh clone)")
    args = ap.parse_args()
    sm = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--quiet", "rules"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_quick:
            paper = workflow_copy(Path(tmp) / "paper")
            rows.append({"run": "paper DAG dry run",
                         "seconds": run([*sm, "-n", "all", "--configfile", "config/paper.yaml"], paper),
                         "budget_s": 10})
            micro = workflow_copy(Path(tmp) / "micro", ROOT / "tests" / "micro.yaml")
            rows.append({"run": "micro DAG (tests/micro.yaml)", "seconds": run([*sm, "all"], micro), "budget_s": 180})
        if args.central:
            central = workflow_copy(Path(tmp) / "central")
            seconds = run([*sm, "--configfile", "config/central.yaml", "--", "central"], central)
            rows.append({"run": "central config (config/central.yaml), central (wall)", "seconds": seconds,
                         "budget_s": 20 * 60})
            results = central / "results-central"
            for rule, s in sorted(rule_seconds(results).items(), key=lambda kv: -kv[1]):
                rows.append({"run": f"  central: rule {rule} (job seconds, summed)", "seconds": s, "budget_s": ""})
            if args.keep_central:
                keep = Path(args.keep_central)
                keep.mkdir(parents=True, exist_ok=True)
                for name in CENTRAL_FILES:
                    shutil.copy(results / name, keep / Path(name).name)
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
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    for r in rows:
        r["seconds"] = round(r["seconds"], 1)
        r["commit"] = commit or "unknown"
        r["cores"] = args.cores
        r["cpus_on_machine"] = os.cpu_count()
    print(f"{'run':<44}{'seconds':>10}{'budget s':>10}")
    for r in rows:
        print(f"{r['run']:<44}{r['seconds']:>10}{r['budget_s']!s:>10}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    made = {r["run"].split(":")[0].strip() if r["run"].startswith("  central:") else r["run"] for r in rows}
    kept = []
    if Path(args.out).exists():  # rows of runs not made this time stay, with the commit they name
        with open(args.out) as f:
            old = list(csv.DictReader(f))
        central_made = any(r["run"].startswith("central config") for r in rows)
        default_made = any(r["run"].startswith("default config") for r in rows)
        for r in old:
            part_of = ("central" if r["run"].startswith(("central config", "  central:"))
                       else "default" if r["run"].startswith(("default config", "  ")) else r["run"])
            if part_of in made or (part_of == "central" and central_made) or (part_of == "default" and default_made):
                continue
            kept.append(r)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["run", "seconds", "budget_s", "commit",
                                                                          "cores", "cpus_on_machine"])
        writer.writeheader()
        writer.writerows(kept + rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
