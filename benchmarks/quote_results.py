"""Result blocks of the README and the docs, rendered from committed artifacts only (never typed).

Each block sits between ``<!-- BEGIN generated:NAME -->`` and ``<!-- END generated:NAME -->``
in the files :data:`BLOCKS` names for it, and is rebuilt from committed files under
``benchmarks/results/`` (each builder's docstring or the block's first line names its CSV):

- README.md: ``scales`` (tiny / central / paper: command, plan, measured time, hardware; from
  ``dry_run_jobs.csv`` and ``bench_workflow.csv``) and ``runs`` (one verdict line per committed
  run, from its ``claims.csv`` / ``claims.md``, linking to docs/results.md);
- docs/results.md: ``run_sections`` (each run's scale and central-claim verdict), ``claims`` and
  ``central_claims`` (the claims tables of ``tiny_run`` and ``central_run``), ``init``,
  ``vgg_lr``, ``effnet_lr``, ``bn_stats`` (the init protocols and the tiny run as saved vs
  calibrated);
- docs/performance.md: ``budgets``, ``profile``, ``efficiency``, ``posenet_speed``,
  ``padding_speed``, ``resize_cache``, ``bench_ppp``, ``conversion``;
- docs/workflow.md: ``jobs`` (every scale's dry-run job stats, ``dry_run_jobs.csv``, written by
  ``benchmarks/dry_run_jobs.py``) and ``growth`` (the "Growing a run" table: the growth cases
  that ``tests/test_workflow.py`` checks, from ``tests/growth.py``); docs/cluster.md: ``paper_jobs``, ``small``;
- docs/readings.md: ``sigma_readings``, ``central_fit``, ``central_verdict``.

Usage: python benchmarks/quote_results.py [--check]   (--check: exit 1 if any file differs)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
RESULTS = ROOT / "benchmarks" / "results"


def _md(rows: list[list[str]], header: list[str]) -> str:
    esc = [[str(c).replace("|", "\\|") for c in r] for r in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in esc])


def claims_block(run: str = "tiny_run") -> str:
    """The run's claims table, compact: its scale (claims.md's "Run:" line) once, then one row
    per claim with the verdict at the primary reading and size and how many of the other
    (reading, size) cells agree with it."""
    t = pd.read_csv(RESULTS / run / "claims.csv", keep_default_na=False)
    run_line = next(
        (line for line in (RESULTS / run / "claims.md").read_text().splitlines() if line.startswith("Run:")), ""
    )
    counts = t["verdict"].value_counts()
    head = (f"{run_line}\n\nVerdicts at the primary reading and size: "
            + ", ".join(f"{int(counts.get(v, 0))} {v}"
                        for v in ("holds", "does not hold", "not testable at this scale", "not run"))
            + ".")
    others = [c for c in t.columns if "@" in c]
    rows = []
    for _, r in t.iterrows():
        cells = [r[c] for c in others if r[c] not in ("", "--")]
        agree = f"{sum(c == r['verdict'] for c in cells) - 1} of {len(cells) - 1}" if len(cells) > 1 else "--"
        rows.append([r["id"], r["paper"], r["ours"], f"{r['reading']} @ {r['size']}", f"**{r['verdict']}**",
                     r["seeds"], agree, r["why"]])
    return head + "\n\n" + _md(
        rows, ["claim", "paper", "ours", "reading @ px", "verdict", "seeds", "other cells agree", "why"]
    )


def verdicts_block() -> str:
    """One line per committed run: the central claim's verdict at the primary reading and size
    (the README's and docs/readings.md's block)."""
    from pppcore.repro.claims import verdict_line

    return "\n\n".join(verdict_line(RESULTS / run) for run in ("central_run", "tiny_run"))


def sigma_readings_block() -> str:
    t = pd.read_csv(RESULTS / "sigma_readings.csv")
    readings = ["snr_ppp", "snr_chw", "snr_chanmean", "snr_meanmap", "snr_pooled", "snr_pooled_chw"]
    rows = [[r["model"], r["bn_stats"], str(r["size"]), f"{r['image_dependence']:.2g}",
             *(f"{r[k]:.3g}" for k in readings)]
            for _, r in t.iterrows()]
    return _md(rows, ["model (zeros, untrained)", "BN", "px", "image dependence", *readings])


def central_fit_block() -> str:
    """How each reading fits the paper's init rows in the central run, at each size."""
    t = pd.read_csv(RESULTS / "central_run" / "reading_fit_summary.csv")
    rows = [[f"**{r.reading}**" if r.primary else r.reading, str(r.size), str(r.rows),
             f"{r.median_abs_log10_ratio:.2f}", f"{r.worst_abs_log10_ratio:.2f}",
             f"{r.zero_rows_matched}/{r.zero_rows}"] for r in t.itertuples()]
    return _md(rows, ["reading", "px", "non-zero rows", "median abs log10(ours / paper)", "worst",
                      "0.0000 rows read 0"])


def init_block() -> str:
    t = pd.read_csv(RESULTS / "init_protocols_tiny.csv")
    order = ["circular", "reflect", "replicate", "randn"]
    rows = []
    for (arch, init, bn), g in t.groupby(["arch", "init", "bn_stats"], sort=False):
        ratio = g.set_index("padding")["ratio_to_zeros"]
        zeros = g.set_index("padding").loc["zeros", "mae_ppp"]
        rows.append([arch, init, bn, f"{zeros:.3g}", *(f"{ratio[p]:.2g}" for p in order), g["verdict"].iloc[0]])
    return _md(rows, ["arch", "init", "bn_stats", "zeros MAE-PPP", *(f"{p} / zeros" for p in order),
                      "paper's init pattern?"])


def small_block() -> str:
    t = pd.read_csv(RESULTS / "small_scale_estimate.csv")
    total = t[t["arch"] == "TOTAL"].iloc[0]
    per_arch = t[~t["arch"].isin(["TOTAL"])].groupby("arch", sort=False)[["gpu_s", "cpu_hours", "jobs"]].sum()
    rows = [[a, f"{r.gpu_s:.0f}", "" if pd.isna(r.cpu_hours) else f"{r.cpu_hours:.1f}", f"{r.jobs:.0f}"]
            for a, r in per_arch.iterrows()]
    rows.append(["**total**", f"{total.gpu_s:.0f}", f"{total.cpu_hours:.1f}", f"{total.jobs:.0f}"])
    tail = (f"\n\nEstimated wall time on one GPU: **{total.estimated_gpu_wall_min:.1f} min** (GPU compute + "
            f"{total.overhead_s:.0f} s of job start-up at {total.startup_s_per_job:.2f} s measured per job plus CUDA "
            "initialisation, 12 jobs at once). Not measured on a GPU: an estimate.")
    return _md(rows, ["arch", "GPU s (estimated)", "CPU hours here (measured rate)", "jobs"]) + tail


def budgets_block() -> str:
    t = pd.read_csv(RESULTS / "bench_workflow.csv", keep_default_na=False)
    rows = [[r.run.replace("  ", "&nbsp;&nbsp;"),
             f"{float(r.seconds) / 60:.1f} min" if float(r.seconds) >= 60 else f"{float(r.seconds):.1f} s",
             "" if r.budget_s == "" else (
                 f"{float(r.budget_s) / 60:.0f} min" if float(r.budget_s) >= 60 else f"{float(r.budget_s):.0f} s"),
             f"`{r.commit}`"]
            for r in t.itertuples()]
    return f"{t['cores'].iloc[0]} cores.\n\n" + _md(rows, ["run", "measured", "budget", "commit"])


def profile_block() -> str:
    t = pd.read_csv(RESULTS / "profile_jobs.csv", keep_default_na=False)
    rows = [[r.job, r.phase, f"{float(r.seconds):.2f} s", "" if r.share == "" else f"{float(r.share):.0%}"]
            for r in t.itertuples()]
    return _md(rows, ["job", "phase", "seconds", "share of the job"])


def efficiency_block() -> str:
    t = pd.read_csv(RESULTS / "flop_efficiency.csv")
    rows = [[r.job, f"{r.gflop:.1f}", f"{r.seconds:.2f} s", f"{r.gflops:.1f}", f"{r.of_conv_peak:.0%}",
             f"{r.of_matmul_peak:.0%}"]
            for r in t.itertuples()]
    r = t.iloc[0]
    return (f"Peaks on this machine, one thread: {r.conv_peak_gflops:.0f} GFLOP/s ({r.conv_peak_shape}), "
            f"{r.matmul_peak_gflops:.0f} GFLOP/s ({r.matmul_peak_shape}).\n\n"
            + _md(rows, ["job", "GFLOP (counted)", "wall", "GFLOP/s", "of conv peak", "of matmul peak"]))


def bn_stats_block() -> str:
    runs = {b: pd.read_csv(RESULTS / d / "readings.csv")
            for b, d in (("as_saved", "tiny_run"), ("calibrated", "tiny_run_calibrated"))}
    # at 224 px: the calibrated re-measure predates ppp.input_sizes (one size, no size column)
    runs = {b: t[t["size"] == 224] if "size" in t else t for b, t in runs.items()}

    def pair(t: pd.DataFrame, arch: str, padding: str, reading: str) -> str:
        g = t[(t["arch"] == arch) & (t["padding"] == padding) & (t["reading"] == reading)].set_index("stage")["mean"]
        return f"{g['init']:.3g} -> {g['trained']:.3g}"

    keys = runs["as_saved"][["arch", "padding"]].drop_duplicates().itertuples(index=False)
    rows = [[a, p, *(pair(runs[b], a, p, r) for r in ("mae_ppp", "mae_rel") for b in runs)] for a, p in keys]
    return _md(rows, ["arch", "padding", "MAE-PPP, as saved", "MAE-PPP, calibrated", "mae_rel, as saved",
                      "mae_rel, calibrated"])


def vgg_lr_block() -> str:
    t = pd.read_csv(RESULTS / "vgg_init_lr.csv")
    rows = [[f"{lr:g}", " -> ".join(f"{v:.0%}" for v in g.sort_values("epoch")["val_acc"])]
            for lr, g in t.groupby("lr", sort=False)]
    ratio = t["conv_std_torchvision_over_pytorch_default"].iloc[0]
    return (f"VGG19 (tiny config, zeros, seed 0), `init: {t['init'].iloc[0]}`; "
            f"torchvision's conv weights have {ratio:.2f}x "
            "the std of PyTorch's defaults.\n\n" + _md(rows, ["lr", "validation top-1 per epoch"]))


def effnet_lr_block() -> str:
    t = pd.read_csv(RESULTS / "efficientnet_init_lr.csv")
    rows = [[init, f"{lr:g}", " -> ".join(f"{v:.0%}" for v in g.sort_values("epoch")["val_acc"]),
             "yes" if g["chosen"].iloc[0] else ""]
            for (init, lr), g in t.groupby(["init", "lr"], sort=False)]
    return ("EfficientNet-B0 (tiny config, zeros, seed 0), validated every epoch.\n\n"
            + _md(rows, ["init", "lr", "validation top-1 per epoch", "config.yaml"]))


def conversion_block() -> str:
    t = pd.read_csv(RESULTS / "bench_conversion_cpu.csv")
    rows = [[r.model, str(r.nodes), f"{r.convert_s:.2f}", f"{r.align224_s:.2f}", str(r.big_crop_224), str(r.big_crop),
             f"{r.bare_s:.2f}", f"{r.measure_s:.2f}", f"{r.overhead:.3f}", f"**{r.overhead_median:.3f}**"]
            for r in t.itertuples()]
    r = t.iloc[0]
    return (f"{len(t)} torchvision CNNs, random init, zeros, taps at strides 4-32; "
            f"{r.images} images at {r.input_size} px "
            f"on {r.device}; seconds are the best of the repeats, the median ratio is over the alternating pairs.\n\n"
            + _md(rows, ["model", "graph nodes", "convert (s)", "align at 224 px (s)", "big crop at 224",
                         f"big crop at {r.input_size}", "bare forwards (s)", "`measure_ppp` (s)", "overhead",
                         "median ratio"]))


def csv_block(name: str, columns: dict[str, str]) -> callable:
    """A block that shows ``columns`` (CSV column -> header) of ``benchmarks/results/<name>.csv`` as they are."""
    def build() -> str:
        t = pd.read_csv(RESULTS / f"{name}.csv", keep_default_na=False)
        return f"`benchmarks/results/{name}.csv`:\n\n" + _md(
            [[str(r[c]) for c in columns] for _, r in t.iterrows()], list(columns.values())
        )
    return build


SPEED_BLOCKS = {  # what each speed-up saves, and how far its numbers moved
    "posenet_speed": csv_block("bench_posenet", {"arch": "arch", "reference_s": "per-trial conv (s)",
                                                 "fast_s": "contracted, batched (s)", "speedup": "speed-up",
                                                 "spc_abs_diff": "SPC diff", "mae_abs_diff": "MAE diff",
                                                 "loss_rel_diff": "loss rel. diff"}),
    "padding_speed": csv_block("padding_format", {"arch": "arch", "padding": "padding", "old_ms": "pad NCHW (ms/step)",
                                                  "new_ms": "pad keeps the layout (ms/step)", "speedup": "speed-up"}),
    "bench_ppp": csv_block("bench_ppp_cpu", {"arch": "arch", "width": "width", "big_crop": "big crop",
                                             "images": "images", "bare_s": "read + bare forwards (s)",
                                             "measure_s": "measure (s)", "ratio": "overhead (median)",
                                             "ratio_min": "min", "ratio_max": "max",
                                             "fixed_ms": "align + twin (ms)", "load_s": "reading (s)",
                                             "peak_mib": "peak RSS above imports (MiB)"}),
    "resize_cache": csv_block("resize_cache", {"resize": "resize", "seconds_per_none_run": "s per none run",
                                               "saved_per_none_run_s": "saved (s)", "batch_s": "one batch (s)",
                                               "bit_identical": "bit-identical"}),
}


RUNS = ("tiny_run", "central_run", "tiny_run_calibrated")  # every committed run, in the order the README lists them
CENTRAL_ARCHS = ("vgg19", "resnet50")
VERDICT_ORDER = ("holds", "does not hold", "not testable at this scale", "not run")
# scale -> (command, the bench_workflow.csv row of its measured wall time or None, hardware)
SCALES = {
    "tiny": ("snakemake --cores all all", "default config, all (wall)", "CPU"),
    "central": ("snakemake --cores 2 --configfile config/central.yaml central",
                "central config (config/central.yaml), central (wall)", "CPU"),
    "paper": ("snakemake all --profile profiles/slurm --configfile config/paper.yaml", None,
              "SLURM, 1 GPU per torch job"),
}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def scales_block() -> str:
    """The README's scale table: the command, what its dry run plans (``dry_run_jobs.csv``), the
    measured wall time (``bench_workflow.csv``) and the hardware it was measured on."""
    jobs = pd.read_csv(RESULTS / "dry_run_jobs.csv")
    bench = pd.read_csv(RESULTS / "bench_workflow.csv", keep_default_na=False).set_index("run")
    rows = []
    for scale, (command, row, hardware) in SCALES.items():
        plan = jobs[jobs["scale"] == scale].set_index("rule")["jobs"]
        grid = f"{plan.get('train', 0):,} trainings, {plan.sum():,} jobs"
        if row is None:
            time = "not run here (GPU-hours: [cluster](docs/cluster.md))"
        else:
            r = bench.loc[row]
            time, hardware = f"{_minutes(float(r.seconds))} (`{r.commit}`)", f"{r.cores}-core {hardware}"
        rows.append([scale, f"`{command}`", grid, time, hardware])
    return _md(rows, ["scale", "command", "plan (dry run)", "wall time", "hardware"])


def _claims(run: str) -> tuple[pd.DataFrame, str]:
    t = pd.read_csv(RESULTS / run / "claims.csv", keep_default_na=False)
    run_line = next((x for x in (RESULTS / run / "claims.md").read_text().splitlines() if x.startswith("Run:")), "")
    return t, run_line


def _central(t: pd.DataFrame) -> pd.DataFrame:
    archs = "|".join(CENTRAL_ARCHS)
    if "id" in t.columns:
        return t[t["id"].astype(str).str.match(rf"train-snr/({archs})/")]
    # claims tables from before claim ids: the claim text names the cell
    return t[t["claim"].astype(str).str.contains(rf"SNR-PPP trained > init at LoI 4 \((?:{archs}),", regex=True)]


def _counts(verdicts: pd.Series) -> str:
    c = verdicts.value_counts()
    return ", ".join(f"{int(c[v])} {v}" for v in VERDICT_ORDER if c.get(v, 0))


def _scale_of(run_line: str) -> str:
    scale = run_line.removeprefix("Run: ").split(":", 1)[0]
    bn = re.search(r"BN (\w+)", run_line)
    commit = re.search(r"commit (\w+)", run_line)
    return ", ".join(x for x in (scale, bn and f"BN {bn.group(1)}", commit and f"commit `{commit.group(1)}`") if x)


def runs_block() -> str:
    """The README's verdict lines: one per committed run, its central claim and all its claims."""
    lines = []
    for run in RUNS:
        t, run_line = _claims(run)
        central = _central(t)
        lines.append(f"- **{run}** ({_scale_of(run_line)}): central claim (Sec 4.1, SNR-PPP trained > init, VGG19 and "
                     f"ResNet50) {_counts(central['verdict'])} of {len(central)} cells; "
                     f"all {len(t)} claims: {_counts(t['verdict'])}. "
                     f"[Details](docs/results.md#{run})")
    return "\n".join(lines)


def run_sections_block() -> str:
    """docs/results.md: a section per committed run with its scale and the central claim's verdict."""
    from pppcore.repro.claims import verdict_line

    parts = []
    for run in RUNS:
        t, run_line = _claims(run)
        central = _central(t)
        text = verdict_line(RESULTS / run) if "id" in t.columns else (
            f"**{run}**: SNR-PPP trained > init (Sec 4.1) under the reading {central['reading'].iloc[0]}: "
            f"{_counts(central['verdict'])} of {len(central)} (arch, padding) cells "
            "(a claims table from before claim ids).")
        parts.append(f"### {run}\n\n{run_line}\n\nAll {len(t)} claims: {_counts(t['verdict'])}. Files: "
                     f"`benchmarks/results/{run}/`.\n\n{text}")
    return "\n\n".join(parts)


def growth_block() -> str:
    """What each config change reruns on a finished micro run: ``tests/growth.py``, the cases
    ``tests/test_workflow.py`` checks against Snakemake's dry run."""
    sys.path.insert(0, str(ROOT / "tests"))
    from growth import growth_table

    return growth_table()


def jobs_block() -> str:
    """Every scale's dry run: jobs per rule (``dry_run_jobs.csv``)."""
    t = pd.read_csv(RESULTS / "dry_run_jobs.csv")
    wide = t.pivot_table(index="rule", columns="scale", values="jobs", aggfunc="sum").reindex(columns=list(SCALES))
    rows = [[f"`{rule}`", *("" if pd.isna(v) else str(int(v)) for v in r)] for rule, r in wide.iterrows()]
    rows.append(["**total**", *(str(int(wide[c].sum())) for c in wide.columns)])
    return "`benchmarks/results/dry_run_jobs.csv`, from `snakemake -n`:\n\n" + _md(rows, ["rule", *wide.columns])


def paper_jobs_block() -> str:
    """The paper-scale dry run: jobs per rule."""
    t = pd.read_csv(RESULTS / "dry_run_jobs.csv")
    t = t[t["scale"] == "paper"].sort_values(["jobs", "rule"], ascending=[False, True])
    rows = [[f"`{r.rule}`", str(r.jobs)] for r in t.itertuples()]
    return (f"`snakemake {t['target'].iloc[0]} -n --configfile {t['config'].iloc[0]}` "
            f"plans **{t['jobs'].sum():,}** jobs "
            "(`benchmarks/results/dry_run_jobs.csv`):\n\n" + _md(rows, ["rule", "jobs"]))


README_MD, RESULTS_MD, PERFORMANCE_MD = README, DOCS / "results.md", DOCS / "performance.md"
WORKFLOW_MD, CLUSTER_MD, READINGS_MD = DOCS / "workflow.md", DOCS / "cluster.md", DOCS / "readings.md"

# block -> (the files it is written into, its builder): every generated block of the repository.
BLOCKS = {
    "scales": ((README_MD,), scales_block),
    "runs": ((README_MD,), runs_block),
    "run_sections": ((RESULTS_MD,), run_sections_block),
    "claims": ((RESULTS_MD,), claims_block),
    "central_claims": ((RESULTS_MD,), lambda: claims_block("central_run")),
    "init": ((RESULTS_MD,), init_block),
    "vgg_lr": ((RESULTS_MD,), vgg_lr_block),
    "effnet_lr": ((RESULTS_MD,), effnet_lr_block),
    "bn_stats": ((RESULTS_MD,), bn_stats_block),
    "budgets": ((PERFORMANCE_MD,), budgets_block),
    "profile": ((PERFORMANCE_MD,), profile_block),
    "efficiency": ((PERFORMANCE_MD,), efficiency_block),
    **{name: ((PERFORMANCE_MD,), build) for name, build in SPEED_BLOCKS.items()},
    "conversion": ((PERFORMANCE_MD,), conversion_block),
    "jobs": ((WORKFLOW_MD,), jobs_block),
    "growth": ((WORKFLOW_MD,), growth_block),
    "paper_jobs": ((CLUSTER_MD,), paper_jobs_block),
    "small": ((CLUSTER_MD,), small_block),
    "sigma_readings": ((READINGS_MD,), sigma_readings_block),
    "central_fit": ((READINGS_MD,), central_fit_block),
    "central_verdict": ((READINGS_MD,), verdicts_block),
}


def files() -> dict[Path, dict[str, callable]]:
    """file -> {block: builder}, from :data:`BLOCKS`."""
    out: dict[Path, dict[str, callable]] = {}
    for name, (paths, build) in BLOCKS.items():
        for path in paths:
            out.setdefault(path, {})[name] = build
    return out


MARKER = re.compile(r"<!-- BEGIN generated:([A-Za-z0-9_]+) -->")


def render(text: str, blocks: dict, name_of_file: str = "README.md") -> str:
    """``text`` with every block of ``blocks`` rebuilt; a block missing from the text, or a
    generated block in the text that ``blocks`` does not build, is an error naming it."""
    unknown = sorted(set(MARKER.findall(text)) - set(blocks))
    if unknown:
        raise ValueError(
            f"{name_of_file} has block(s) {', '.join(unknown)} that quote_results.BLOCKS does not build for it"
        )
    for name, build in blocks.items():
        pattern = re.compile(rf"(<!-- BEGIN generated:{name} -->\n).*?(<!-- END generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"{name_of_file} has no block 'generated:{name}'")
        block = build()
        text = pattern.sub(lambda m, block=block: m.group(1) + block + "\n" + m.group(2), text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when a file is not what the artifacts render")
    args = ap.parse_args()
    stale = []
    for path, blocks in files().items():
        text = path.read_text()
        new = render(text, blocks, path.relative_to(ROOT).as_posix())
        if new != text:
            stale.append(path.relative_to(ROOT).as_posix())
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"{', '.join(stale)}: generated blocks differ from the committed artifacts; "
              "run benchmarks/quote_results.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
