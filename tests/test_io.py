"""pppcore.io: atomic writes and NPZ files whose bytes depend on the arrays only."""

import os
import time

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
