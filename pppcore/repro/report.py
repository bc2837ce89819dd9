"""The workflow's HTML report: ``snakemake --report`` over the very run that asks for it, and
the compact claims table its Claims page shows beside the verdict matrix."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..io import atomic_path
from .claims import NA

# The compact claims table's columns: the claims table's, less the claim's text, the paper's
# sentence, the size and seeds, and the per-(reading, size) verdicts (one count instead).
COMPACT_COLUMNS = ("id", "section", "reading", "verdict", "ours", "paper", "same_elsewhere", "why")


def snakemake_report(snakefile: str | os.PathLike, config: Mapping[str, Any], out: str | os.PathLike,
                     workdir: str | os.PathLike = ".") -> None:
    """Write ``out`` with ``snakemake --report`` under this run's own ``config`` (so a
    ``--configfile config/paper.yaml`` run reports the paper run, not the default);
    ``--nolock`` because the calling run holds the lock. Atomic: a failed report leaves no file."""
    with tempfile.TemporaryDirectory() as tmp, atomic_path(out) as partial:
        config_file = Path(tmp) / "config.yaml"
        config_file.write_text(yaml.safe_dump(dict(config)))
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile),
               "--directory", str(Path(workdir).resolve()), "--nolock", "--configfile", str(config_file),
               "--report", str(partial)]
        print(" ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        print(proc.stdout, proc.stderr, sep="\n", flush=True)
        if proc.returncode != 0:
            raise RuntimeError(f"snakemake --report failed with exit code {proc.returncode}: "
                               f"{proc.stderr.strip().splitlines()[-1:] or ''}")


def claims_compact(t: pd.DataFrame) -> pd.DataFrame:
    """The report's claims table: one row per claim with its verdict at the primary reading and
    size, and in ``same_elsewhere`` how many of the other (reading, size) cells (the columns named
    reading@size; ``--`` where a claim has no verdict, e.g. the BHV claims' sizes) give the same
    verdict, as "same/of" ("--" when there is none). Nothing in it depends on the run's scale,
    which the page's caption states once."""
    cells = [c for c in t.columns if "@" in str(c)]
    primary = t.attrs.get("primary")

    def elsewhere(row: pd.Series) -> str:
        others = [row[c] for c in cells if c != primary and row[c] != NA]
        return f"{sum(v == row['verdict'] for v in others)}/{len(others)}" if others else NA

    out = t[[c for c in COMPACT_COLUMNS if c != "same_elsewhere"]].copy()
    same = t.apply(elsewhere, axis=1) if len(t) else []
    out.insert(list(COMPACT_COLUMNS).index("same_elsewhere"), "same_elsewhere", same)
    return out
