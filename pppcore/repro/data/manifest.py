"""The tile set's manifest: which mosaics a folder holds, with their sizes and sha256.

Every tile source (downloaded, synthetic, a local folder) writes one, and every reader checks
it, so a half-written or hand-edited folder is refused with the file that is wrong.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ...io import sha256_file, write_json

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "pppcore-mosaics/1"


def write_manifest(out_dir: str | os.PathLike, mosaics: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """Write ``out_dir/manifest.json`` atomically. Each entry needs file, width, height, sha256."""
    for m in mosaics:
        missing = {"file", "width", "height", "sha256"} - m.keys()
        if missing:
            raise ValueError(f"manifest entry {m.get('file', m)!r} lacks {sorted(missing)}")
    manifest = {"format": MANIFEST_FORMAT, **meta, "mosaics": mosaics}
    write_json(Path(out_dir) / MANIFEST, manifest)
    return manifest


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(out_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: manifest missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if (not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT
            or not isinstance(manifest.get("mosaics"), list)):
        raise ValueError(f"{path}: not a {MANIFEST_FORMAT} manifest")
    return manifest


def verify_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    """Recompute every mosaic's sha256; raise ``ValueError`` naming the first bad file."""
    manifest = read_manifest(out_dir)
    for m in manifest["mosaics"]:
        path = Path(out_dir) / m["file"]
        if not path.is_file():
            raise ValueError(f"{path}: listed in {MANIFEST} but missing")
        digest = sha256_file(path)
        if digest != m["sha256"]:
            raise ValueError(f"{path}: sha256 {digest[:16]}... does not match the manifest's {m['sha256'][:16]}...")
    return manifest
