"""Pytest fixtures. Shared helper functions and constants live in helpers.py: import them from there."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
