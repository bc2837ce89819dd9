"""Pytest fixtures. Shared helper functions and constants live in helpers.py: import them from there."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def finished_micro(tmp_path_factory):
    """The micro DAG run to the end (``report``, so ``all`` too), shared by every test of the
    xdist group "micro" (one worker runs them all, so the run happens once). Tests only read
    it or dry-run in it; a test that writes copies it first."""
    from helpers import snakemake, workflow_copy

    wf = workflow_copy(tmp_path_factory.mktemp("micro"))
    snakemake(wf, "report")
    return wf
