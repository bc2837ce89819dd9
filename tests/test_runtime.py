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


def test_prepare_job_sets_threads_and_resolves_the_device():
    import torch

    from pppcore.runtime import prepare_job

    before = torch.get_num_threads()
    try:
        assert prepare_job(1, "cpu") == torch.device("cpu")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
