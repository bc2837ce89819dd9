"""Checkpoints that remember how their model was built, written atomically."""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch

from .io import REBUILD, torch_save
from .models import PPPModel, build_model
from .padding import check_padding


def save_checkpoint(path: str | os.PathLike, model: PPPModel, **extra: Any) -> None:
    """Write ``{"config", "state_dict", **extra}`` atomically (never half-written)."""
    torch_save({"config": dict(model.config), "state_dict": model.state_dict(), **extra}, path)


def safe_load(path: str | os.PathLike, error: str, map_location: Any = "cpu") -> Any:
    """``torch.load`` of tensors and plain data only (``weights_only=True``): a file that would
    make pickle build other objects, which could run code, is refused like an unreadable one,
    with ``error`` and the reason (truncated, not a torch file, a foreign object)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = (str(err).split("Unsupported global:")[-1].split(" was not")[0].strip()
                 if "Unsupported global" in str(err) else "")
        raise ValueError(f"{error} (it holds Python objects beyond tensors and plain data"
                         f"{', ' + found if found else ''}; "
                         "they are refused: loading them could run code)") from err
    except Exception as err:  # truncated, not a torch file, ...
        # torch's legacy reader fails on other data with a bare KeyError (the first byte) or EOFError
        reason = "not a torch file, or an empty or truncated one" if isinstance(err, (KeyError, EOFError)) else err
        raise ValueError(f"{error} ({reason}); if a workflow job wrote it, {REBUILD}") from err


def read_state(path: str | os.PathLike, what: str, map_location: str = "cpu") -> tuple[Any, Any]:
    """``(blob, state)``: the file as ``torch.load`` reads it (tensors only, no code) and its
    state dict (``blob["state_dict"]``, the blob itself for a bare one, None if not a dict).
    A file that cannot be read is an error naming ``what`` and the file."""
    blob = safe_load(path, f"{what} {path}: cannot be read", map_location)
    return blob, blob.get("state_dict", blob) if isinstance(blob, dict) else None


def load_checkpoint(
    path: str | os.PathLike,
    model: PPPModel | None = None,
    map_location: str = "cpu",
    *,
    arch: str | None = None,
    padding: str | None = None,
    **build_kwargs: Any,
) -> PPPModel:
    """Load ``path`` into ``model``, or into a model rebuilt from the checkpoint's config.

    Accepts our checkpoints and bare state dicts (e.g. torchvision's; then ``arch`` and
    ``build_kwargs`` say what to build). ``arch`` checks what the file holds; ``padding``
    overrides the saved scheme (same weights, another padding). Errors name the file.
    """
    blob, state = read_state(path, "checkpoint", map_location)
    config = blob.get("config") if isinstance(blob, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path}: no state_dict inside")
    held = (config or {}).get("arch")
    expected = model.arch if model is not None else arch
    if held and expected and held != expected:
        raise ValueError(f"checkpoint {path} holds a {held} but the model is a {expected}")
    if model is None:
        if padding:
            check_padding(padding)  # an override's error is not the file's
        if config is not None:
            try:
                model = build_model(**{**config, **({"padding": padding} if padding else {})})
            except (TypeError, ValueError) as err:  # a key or value this version does not know
                raise ValueError(f"checkpoint {path}: its config {config} does not build a model here ({err}); "
                                 "written by another pppcore version?") from err
        elif arch is not None:
            model = build_model(arch, padding or "zeros", **build_kwargs)
        else:
            raise ValueError(f"checkpoint {path}: a bare state_dict; pass the model (or arch) to load it into")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"checkpoint {path} does not fit {model.arch} "
                         f"(width {model.config.get('width')}): {err}") from err
    model.checkpoint_meta = {k: v for k, v in blob.items() if k not in ("config", "state_dict")} if config else {}
    return model
