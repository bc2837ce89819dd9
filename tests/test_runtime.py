import json
import subprocess
import sys
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[1] / "pppcore" / "runtime.py"
MiB = 1 << 20

# Runs in a fresh interpreter (mallopt is process-wide). Loads runtime.py on its own, without
# torch, so the heap is quiet; reports what glibc's mallinfo2 sees for one 64 MiB malloc/free
# before and after tune_malloc(*argv).
PROBE = r"""
import ctypes, ctypes.util, importlib.util, json, sys

spec = importlib.util.spec_from_file_location("runtime", sys.argv[1])
runtime = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runtime)
libc = ctypes.CDLL(ctypes.util.find_library("c"))

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def probe(n=64 << 20):
    before = libc.mallinfo2()
    p = libc.malloc(n)
    during = libc.mallinfo2()
    libc.free(p)
    after = libc.mallinfo2()
    return {"mmapped": during.hblkhd - before.hblkhd, "heap_grew": during.arena - before.arena,
            "kept": after.arena - before.arena}

default = probe()
ok = runtime.tune_malloc(*map(int, sys.argv[2:]))
print(json.dumps({"default": default, "returned": ok, "tuned": probe()}))
"""


def malloc_probe(*args: int) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(RUNTIME), *map(str, args)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_tune_malloc_moves_big_buffers_onto_a_heap_it_keeps():
    """glibc mmaps a 64 MiB block and unmaps it on free; after tune_malloc the block comes from
    the heap, which grows by the block plus top_pad and is not trimmed below trim_threshold."""
    r = malloc_probe()  # the defaults: trim threshold 1 GiB, top pad 256 MiB
    assert r["default"]["mmapped"] >= 64 * MiB and r["default"]["heap_grew"] == 0  # the probe sees glibc's default
    assert r["returned"] is True
    tuned = r["tuned"]
    assert tuned["mmapped"] == 0
    assert tuned["heap_grew"] >= (64 + 256 - 1) * MiB  # less what was free at the top already
    assert tuned["kept"] == tuned["heap_grew"]  # freed, but nothing handed back to the OS
    # The arguments are the ones applied: a small top pad and a 1 MiB trim threshold.
    small = malloc_probe(MiB, 8 * MiB)["tuned"]
    assert small["mmapped"] == 0 and (64 + 8 - 1) * MiB <= small["heap_grew"] < (64 + 256) * MiB
    assert small["kept"] < 16 * MiB  # trimmed back to about the top pad


def test_prepare_job_sets_threads_and_resolves_the_device():
    import torch

    from pppcore.runtime import prepare_job

    before = torch.get_num_threads()
    try:
        assert prepare_job(1, "cpu") == torch.device("cpu")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
