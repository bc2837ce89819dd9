import sys

import pytest
import torch

from pppcore.runtime import tune_malloc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_tune_malloc_applies_and_keeps_results():
    x = torch.randn(64, 64, 64)
    before = (x @ x).sum()
    assert tune_malloc() is True
    assert torch.equal((x @ x).sum(), before)
