"""Glue: rule report -> `snakemake --report` on this very run (its config, its outputs).

The nested call gets the running config as a file, so `--configfile config/paper.yaml`
reports the paper run, not the default; `--nolock` because the outer run holds the lock.
"""
import os
import subprocess
import sys
import tempfile

import yaml

from pppcore.io import log_to

sm = snakemake  # noqa: F821 (injected by Snakemake)
out = sm.output[0]
with log_to(sm.log[0]), tempfile.TemporaryDirectory() as tmp:
    config = os.path.join(tmp, "config.yaml")
    with open(config, "w") as f:
        yaml.safe_dump(dict(sm.config), f)
    partial = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.partial.html")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", sm.params.snakefile, "--directory", os.getcwd(),
           "--nolock", "--configfile", config, "--report", partial]
    print(" ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout, proc.stderr, sep="\n", flush=True)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake --report failed with exit code {proc.returncode}; see {sm.log[0]}")
    os.replace(partial, out)
