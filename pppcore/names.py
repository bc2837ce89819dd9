"""The names the library and the workflow share, torch-free: padding schemes and architectures.

``pppcore.repro.grid`` (imported by the Snakefile) reads them from here without loading torch;
the padding policies and the model builders are checked against them (tests/test_grid.py).
"""

from __future__ import annotations

PADDINGS: tuple[str, ...] = ("zeros", "circular", "reflect", "replicate", "randn", "none")
ARCHS: tuple[str, ...] = ("vgg16", "vgg19", "resnet50", "efficientnet_b0")
# Paddings whose nets run at their smallest input when asked for less (pppcore.alignment.input_size_for):
# none shrinks every map, reflect cannot pad a map by its size, circular cannot wrap more than once.
CLAMPED: tuple[str, ...] = ("none", "reflect", "circular")
