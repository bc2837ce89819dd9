"""Atomic file writes (a reader never sees half a file, a crash never leaves one) and JSON
that stays JSON (no ``NaN``/``Infinity`` tokens: strict readers reject them)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import torch


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import: os.umask can only be read by setting it, and doing that on every write
# would open a window in which another thread's new file gets mode 0666.
_UMASK = _read_umask()


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success flush it to disk and rename it onto
    ``path``. On any error (a full disk included) the temporary file is removed and ``path``
    keeps its former content, so a rerun starts from a clean state."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        if os.path.exists(tmp):  # mkstemp's 0600 would survive the rename: the mode open() gives
            os.chmod(tmp, 0o666 & ~_UMASK)
            _fsync(tmp)  # the bytes reach the disk before the name does: a crash leaves old or new
        os.replace(tmp, path)
        _fsync(path.parent)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _fsync(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def json_safe(value: Any) -> Any:
    """``value`` with every NaN/inf float (in nested dicts, lists, tuples) as ``None``: JSON ``null``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def nan_if_null(value: float | None) -> float:
    """The inverse of :func:`json_safe` for one number read back: ``null`` -> NaN."""
    return math.nan if value is None else value


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """``payload`` as indented JSON, non-finite numbers as ``null`` (see :func:`json_safe`)."""
    write_text(path, json.dumps(json_safe(payload), indent=2, allow_nan=False) + "\n")


REBUILD = "delete it and rerun the same snakemake target: the job that writes it runs again"


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file a job wrote; a truncated or damaged one is an error naming it and the fix."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not complete JSON ({err}); {REBUILD}") from err


def read_npz(path: str | os.PathLike) -> dict[str, Any]:
    """Every array of an ``.npz`` a job wrote; a truncated one (its zip directory sits at the
    end, so any cut is seen) is an error naming it and the fix."""
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as err:
        raise ValueError(f"{path}: not a complete .npz ({err}); {REBUILD}") from err


def write_npz(path: str | os.PathLike, arrays: dict[str, Any]) -> None:
    """``arrays`` as a compressed ``.npz`` that ``np.load`` reads, byte-identical for equal
    arrays: ``np.savez_compressed`` stamps each member with the wall clock, this with 1980-01-01."""
    import zipfile

    import numpy as np

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` atomically and byte-identical for equal objects: given a path, torch names
    the archive's folder after the file (here a random temporary name); given a file, "archive"."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


@contextmanager
def log_to(path: str | os.PathLike | None) -> Iterator[None]:
    """Send stdout and stderr (progress bars included) to ``path`` for the block: one log per job."""
    if not path:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as f, redirect_stdout(f), redirect_stderr(f):
        try:
            yield
        except BaseException:
            traceback.print_exc()  # the error belongs in the job's log too
            raise


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
