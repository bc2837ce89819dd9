"""Small helpers shared by the model families."""

from __future__ import annotations


def scaled(channels: int, width: float) -> int:
    """``channels`` times the width multiplier, rounded, at least 1."""
    return max(1, round(channels * width))
