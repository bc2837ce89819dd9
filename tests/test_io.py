"""pppcore.io: atomic writes and NPZ files whose bytes depend on the arrays only."""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from pppcore.io import atomic_path, write_npz


def test_write_npz_is_byte_identical_across_time_and_reads_back(tmp_path):
    arrays = {"layer1/channel_mean": np.arange(12, dtype=np.float32).reshape(3, 4), "running": np.array([0.5, np.nan])}
    write_npz(tmp_path / "a.npz", arrays)
    time.sleep(2.1)  # the zip format's clock ticks every 2 s: np.savez_compressed's bytes would differ
    write_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as back:
        assert back.files == list(arrays)
        for name, value in arrays.items():
            np.testing.assert_array_equal(back[name], value)
            assert back[name].dtype == value.dtype


def test_a_failed_write_leaves_neither_a_half_file_nor_a_temp_file(tmp_path):
    target = tmp_path / "out.npz"
    target.write_bytes(b"previous")
    with pytest.raises(ValueError, match="allow_pickle"):
        write_npz(target, {"x": np.array([object()], dtype=object)})  # pickles refused: nothing is written
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["out.npz"]


def test_atomic_path_renames_only_on_success(tmp_path):
    target = tmp_path / "table.csv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("writer", ["npz", "torch", "json"])
def test_a_full_disk_fails_the_write_cleanly_and_the_retry_succeeds(tmp_path, monkeypatch, writer):
    """ENOSPC half-way through a write: the error reaches the caller, the former file and the
    folder are as before (no half file, no temp file), and the same write succeeds once space is back."""
    import errno
    import json

    import torch

    from pppcore import io as pio

    def half_then_full(real):  # writes a little, then the disk is full
        def write(*args, **kwargs):
            target = next(a for a in args if isinstance(a, (str, os.PathLike)) or hasattr(a, "write"))
            if hasattr(target, "write"):
                target.write(b"half")
            else:
                Path(target).write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return write

    target = tmp_path / f"out.{writer}"
    value = {"x": np.arange(1000.0)}
    write = {"npz": lambda: write_npz(target, value),
             "torch": lambda: pio.torch_save({"x": torch.arange(1000.0)}, target),
             "json": lambda: pio.write_json(target, {"x": list(range(10))})}[writer]
    target.write_bytes(b"former")
    if writer == "npz":
        monkeypatch.setattr(np.lib.format, "write_array", half_then_full(np.lib.format.write_array))
    elif writer == "torch":
        monkeypatch.setattr(torch, "save", half_then_full(torch.save))
    else:
        monkeypatch.setattr(Path, "write_text", lambda self, text: half_then_full(None)(self))
    with pytest.raises(OSError) as err:
        write()
    assert err.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"former" and os.listdir(tmp_path) == [target.name]
    monkeypatch.undo()
    write()
    if writer == "npz":
        with np.load(target) as back:
            np.testing.assert_array_equal(back["x"], value["x"])
    elif writer == "torch":
        assert torch.equal(torch.load(target, weights_only=True)["x"], torch.arange(1000.0))
    else:
        assert json.loads(target.read_text()) == {"x": list(range(10))}


def test_every_file_a_later_job_reads_refuses_a_truncated_copy_by_name(tmp_path):
    """A PPP JSON / NPZ, a BHV JSON and a checkpoint cut short after the fact: each reader names
    the file and says how to rebuild it; none returns a number."""

    from pppcore import build_model
    from pppcore.checkpoint import load_checkpoint, save_checkpoint
    from pppcore.io import write_json
    from pppcore.repro import plots, table1, tables

    files = {"ppp.json": lambda p: write_json(p, {"config": {"arch": "vgg19", "padding": "zeros"},
                                                  "layers": {"block5": {"mae_ppp": 0.5}}}),
             "ppp.npz": lambda p: write_npz(p, {"block5/channel_mean": np.ones((4, 4), dtype=np.float32)}),
             "bhv.json": lambda p: write_json(p, {"padding": "zeros", "conv_type": "full", "background": "black",
                                                  "trials": [{"trial": 0}]}),

             "epoch_002.pt": lambda p: save_checkpoint(p, build_model("vgg19", "zeros", num_classes=10, width=0.125))}
    readers = {"ppp.json": lambda p: tables.collect([p]), "ppp.npz": plots.load_maps,
               "bhv.json": lambda p: table1.collect([p]), "epoch_002.pt": load_checkpoint}
    for name, write in files.items():
        path = tmp_path / name
        write(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])  # a disk that filled, a copy cut short
        with pytest.raises(ValueError, match="rerun the same snakemake target") as err:
            readers[name](path)
        assert str(path) in str(err.value), name
