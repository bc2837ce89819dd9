"""The workflow's HTML report: ``snakemake --report`` over the very run that asks for it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..io import atomic_path


def snakemake_report(snakefile: str | os.PathLike, config: Mapping[str, Any], out: str | os.PathLike, workdir: str | os.PathLike = ".") -> None:
    """Write ``out`` with ``snakemake --report`` under this run's own ``config`` (so a
    ``--configfile config/paper.yaml`` run reports the paper run, not the default);
    ``--nolock`` because the calling run holds the lock. Atomic: a failed report leaves no file."""
    with tempfile.TemporaryDirectory() as tmp, atomic_path(out) as partial:
        config_file = Path(tmp) / "config.yaml"
        config_file.write_text(yaml.safe_dump(dict(config)))
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(Path(workdir).resolve()),
               "--nolock", "--configfile", str(config_file), "--report", str(partial)]
        print(" ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        print(proc.stdout, proc.stderr, sep="\n", flush=True)
        if proc.returncode != 0:
            raise RuntimeError(f"snakemake --report failed with exit code {proc.returncode}: {proc.stderr.strip().splitlines()[-1:] or ''}")
