#!/usr/bin/env bash
# Snakemake runs this once inside the freshly built env (--sdm conda), from the workflow's
# working directory: install pppcore from the checkout, editable, without touching the
# conda-solved dependencies.
set -euo pipefail
if ! grep -qs '^name = "pppcore"' pyproject.toml; then
  echo "post-deploy: run snakemake from the repository root (no pppcore pyproject.toml in $PWD)" >&2
  exit 1
fi
python -m pip install --no-deps --no-build-isolation --quiet -e .
