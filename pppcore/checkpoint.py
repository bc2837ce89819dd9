"""Checkpoints that remember how their model was built, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .models import PPPModel, build_model


def save_checkpoint(path: str | os.PathLike, model: PPPModel, **extra: Any) -> None:
    """Write ``{"config", "state_dict", **extra}`` via temp file + rename (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"config": dict(model.config), "state_dict": model.state_dict(), **extra}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path: str | os.PathLike, model: PPPModel | None = None, map_location: str = "cpu") -> PPPModel:
    """Load ``path`` into ``model`` (or a model rebuilt from the checkpoint's config).

    Accepts our checkpoints and bare state dicts (e.g. torchvision's). Errors name the file.
    """
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated, not a torch file, ...
        raise ValueError(f"checkpoint {path}: cannot be read ({err})") from err
    config = blob.get("config") if isinstance(blob, dict) else None
    state = blob.get("state_dict", blob) if isinstance(blob, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path}: no state_dict inside")
    if model is None:
        if config is None:
            raise ValueError(f"checkpoint {path}: a bare state_dict; pass the model to load it into")
        model = build_model(**config)
    elif config is not None and config.get("arch") != model.arch:
        raise ValueError(f"checkpoint {path} holds a {config.get('arch')} but the model is a {model.arch}")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"checkpoint {path} does not fit {model.arch} (width {model.config.get('width')}): {err}") from err
    return model
