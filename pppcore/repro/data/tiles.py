"""XYZ slippy-map tiles stitched into mosaics: the paper's satellite test images.

Tile servers are shared, flaky and rate-limited, and a paper-scale run needs ~30k tiles,
so the client is polite (User-Agent, minimum interval between requests), patient
(timeouts, retries with backoff on 5xx/429/timeouts, mirror fallback) and suspicious
(every body must decode fully as a non-blank 256 x 256 image). Tiles are cached on disk,
mosaics and the manifest are written atomically, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import requests
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from ...io import sha256_file, write_bytes
from .manifest import read_manifest, write_manifest

TILE_SIZE = 256
USER_AGENT = "pppcore-ppp-reproduction/0.1 (+research; contact: the repository's issue tracker)"
_MAX_LAT = 85.0511287798066  # Web-Mercator latitude limit: atan(sinh(pi))
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # body cut short
    requests.exceptions.ContentDecodingError,
)


class TileError(RuntimeError):
    """A tile that could not be obtained from any mirror (the message says which and why)."""


class InvalidTile(ValueError):
    """A tile body that is not a usable image. ``transient``: worth downloading again."""

    def __init__(self, reason: str, transient: bool = False):
        super().__init__(reason)
        self.transient = transient


# --------------------------------------------------------------------------- geometry


def lonlat_to_tile(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The XYZ tile (x, y) containing (lon, lat) at ``zoom`` (Web Mercator, y down).

    Latitudes are clamped to the projection's +-85.05 deg and x, y to the grid, so the
    map's edges (lon = 180, the poles) give the last tile instead of an invalid index.
    """
    n = 2**zoom
    lat = max(-_MAX_LAT, min(_MAX_LAT, lat))
    x = (lon + 180.0) / 360.0 * n
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return min(n - 1, max(0, math.floor(x))), min(n - 1, max(0, math.floor(y)))


def mosaic_tiles(zoom: int, x: int, y: int, mosaic_px: int, tile_size: int = TILE_SIZE) -> list[tuple[int, int, int]]:
    """The (z, x, y) tiles of one ``mosaic_px``-square mosaic whose top-left tile is (x, y).

    Row-major (y outer). The mosaic must be a whole number of tiles and lie inside the
    zoom level's grid (no wrap across the antimeridian: that would stitch a seam).
    """
    if mosaic_px <= 0 or mosaic_px % tile_size:
        raise ValueError(f"mosaic_px={mosaic_px} must be a positive multiple of the tile size {tile_size}")
    k, n = mosaic_px // tile_size, 2**zoom
    if not (0 <= x and 0 <= y and x + k <= n and y + k <= n):
        raise ValueError(f"mosaic of {k}x{k} tiles at {zoom}/{x}/{y} leaves the {n}x{n} grid of zoom {zoom}")
    return [(zoom, x + i, y + j) for j in range(k) for i in range(k)]


@dataclass(frozen=True)
class MosaicSpec:
    """One mosaic: its top-left tile (zoom, x, y), its side in pixels, and its file name."""

    zoom: int
    x: int
    y: int
    size: int
    name: str | None = None  # default: mosaic_<index>.png

    def tiles(self) -> list[tuple[int, int, int]]:
        return mosaic_tiles(self.zoom, self.x, self.y, self.size)


def mosaic_specs(boxes: Iterable[Sequence[float]], zoom: int, size: int, n: int) -> list[MosaicSpec]:
    """``n`` non-overlapping mosaics taken row-major from lon/lat boxes ``(lon_min, lat_min, lon_max, lat_max)``.

    Raises ``ValueError`` when the boxes hold fewer than ``n`` whole mosaics, rather than
    silently returning a smaller test set than configured.
    """
    k, specs = size // TILE_SIZE, []
    mosaic_tiles(zoom, 0, 0, size)  # validates size
    for box in boxes:
        lon0, lat0, lon1, lat1 = box
        x0, y0 = lonlat_to_tile(lon0, lat1, zoom)  # north-west corner
        x1, y1 = lonlat_to_tile(lon1, lat0, zoom)  # south-east corner
        for y in range(y0, y1 - k + 2, k):
            for x in range(x0, x1 - k + 2, k):
                specs.append(MosaicSpec(zoom, x, y, size, f"mosaic_{len(specs):04d}.png"))
                if len(specs) == n:
                    return specs
    raise ValueError(f"the lat/lon boxes hold only {len(specs)} mosaics of {size} px at zoom {zoom}, {n} requested")


# --------------------------------------------------------------------------- validation


def validate_tile(data: bytes, tile_size: int = TILE_SIZE) -> Image.Image:
    """Decode ``data`` fully and return it as RGB, or raise :class:`InvalidTile` saying why.

    Not an image (an HTML error page served with 200), the wrong size, or one flat colour
    (the "no data" tile of many servers) are permanent; a truncated body is transient.
    """
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError):
        head = data[:40].decode("ascii", "replace").replace("\n", " ")
        raise InvalidTile(f"not an image ({len(data)} bytes starting {head!r})") from None
    if img.size != (tile_size, tile_size):
        raise InvalidTile(f"image is {img.size[0]}x{img.size[1]}, expected {tile_size}x{tile_size}")
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise InvalidTile(f"truncated or corrupt image ({len(data)} bytes): {e}", transient=True) from None
    rgb = img.convert("RGB")
    arr = np.asarray(rgb)
    if int((arr.max(axis=(0, 1)).astype(int) - arr.min(axis=(0, 1))).max()) == 0:
        raise InvalidTile(f"blank tile (every pixel is {tuple(int(v) for v in arr[0, 0])})")
    return rgb


# --------------------------------------------------------------------------- files


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- client


class TileClient:
    """Fetches validated tiles through an on-disk cache (``cache_dir/z/x/y.png``).

    ``mirrors`` are URL templates with ``{z}``, ``{x}``, ``{y}`` and optionally ``{s}``
    (one of ``subdomains``, chosen by tile so the load spreads but stays reproducible).
    Each mirror gets ``retries`` retries on 5xx, 429 (waiting ``Retry-After`` seconds when
    sent, at most ``retry_after_max``), connection errors, timeouts and truncated bodies, with
    exponential backoff ``backoff * 2**attempt`` (capped at ``backoff_max``, seeded jitter
    in [0.5, 1]); 404, other 4xx and invalid images move on to the next mirror at once.
    Requests start at least ``min_interval`` seconds apart.
    """

    def __init__(
        self,
        mirrors: Sequence[str],
        cache_dir: str | os.PathLike,
        *,
        subdomains: Sequence[str] = ("a", "b", "c"),
        user_agent: str = USER_AGENT,
        timeout: tuple[float, float] = (10.0, 30.0),
        retries: int = 4,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        retry_after_max: float = 120.0,
        min_interval: float = 0.2,
        seed: int = 0,
        session: requests.Session | None = None,
    ):
        if isinstance(mirrors, str) or not mirrors:
            raise ValueError("mirrors must be a non-empty list of URL templates")
        for m in mirrors:
            if not all(f"{{{k}}}" in m for k in "zxy") or ("{s}" in m and not subdomains):
                raise ValueError(f"mirror template {m!r} needs {{z}}, {{x}}, {{y}} (and subdomains if it uses {{s}})")
        self.mirrors, self.subdomains = list(mirrors), list(subdomains)
        self.cache_dir = Path(cache_dir)
        self.timeout, self.retries = timeout, retries
        self.backoff, self.backoff_max, self.retry_after_max = backoff, backoff_max, retry_after_max
        self.min_interval = min_interval
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.requests_made = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._next_start = 0.0

    def __enter__(self) -> TileClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def tile_path(self, z: int, x: int, y: int) -> Path:
        return self.cache_dir / str(z) / str(x) / f"{y}.png"

    def url(self, template: str, z: int, x: int, y: int) -> str:
        s = self.subdomains[(x + y) % len(self.subdomains)] if self.subdomains else ""
        return template.format(z=z, x=x, y=y, s=s)

    def get(self, z: int, x: int, y: int) -> Image.Image:
        """The tile as an RGB image: from the cache when valid there, else downloaded and cached."""
        path = self.tile_path(z, x, y)
        if path.is_file():
            try:
                return validate_tile(path.read_bytes())
            except InvalidTile:
                pass  # corrupt or stale cache entry: download again (overwritten atomically)
        data, img = self.download(z, x, y)
        write_bytes(path, data)
        return img

    def download(self, z: int, x: int, y: int) -> tuple[bytes, Image.Image]:
        """Raw body and decoded image of one tile, trying every mirror; raises :class:`TileError`."""
        failures = []
        for template in self.mirrors:
            url = self.url(template, z, x, y)
            result = self._from_mirror(url)
            if isinstance(result, str):
                failures.append(f"{url}: {result}")
            else:
                return result
        raise TileError(f"tile {z}/{x}/{y} failed on every mirror: " + "; ".join(failures))

    def _from_mirror(self, url: str) -> tuple[bytes, Image.Image] | str:
        """(body, image) on success, else the reason this mirror failed."""
        reason, delay = "no attempt", 0.0
        for attempt in range(self.retries + 1):
            time.sleep(delay)
            delay = min(self.backoff_max, self.backoff * 2**attempt) * (0.5 + 0.5 * self._rng.random())
            self._wait_turn()
            try:
                resp = self.session.get(url, timeout=self.timeout)
            except _TRANSIENT_ERRORS as e:
                reason = f"{type(e).__name__}: {e}"
                continue
            except requests.RequestException as e:  # bad URL, redirect loop, ...
                return f"{type(e).__name__}: {e} (permanent)"
            status = resp.status_code
            if status == 429 or status >= 500:
                reason = f"HTTP {status}"
                if "Retry-After" in resp.headers:  # 429, often 503 too
                    delay = max(delay, min(self.retry_after_max, _retry_after(resp.headers["Retry-After"], delay)))
                continue
            if status != 200:
                return f"HTTP {status} (permanent)"
            try:
                return resp.content, validate_tile(resp.content)
            except InvalidTile as e:
                reason = str(e)
                if not e.transient:
                    return f"{reason} (permanent)"
        return f"{reason} (after {self.retries + 1} attempts)"

    def _wait_turn(self) -> None:
        """Rate limit: request starts are at least ``min_interval`` apart (thread-safe)."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.min_interval
            self.requests_made += 1
        if start > now:
            time.sleep(start - now)


def _retry_after(value: str | None, default: float) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds form; HTTP dates fall back to ``default``)."""
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


# --------------------------------------------------------------------------- mosaics


def _origin(spec: MosaicSpec) -> dict[str, int]:
    return {"zoom": spec.zoom, "x": spec.x, "y": spec.y, "tiles_per_side": spec.size // TILE_SIZE}


def build_mosaics(
    client: TileClient,
    specs: Sequence[MosaicSpec],
    out_dir: str | os.PathLike,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Stitch each spec's tiles into an RGB PNG in ``out_dir`` and write ``manifest.json``.

    Resumable: a mosaic whose file exists with the sha256 and origin the previous manifest
    recorded is kept without touching the network; the others are rebuilt from the tile
    cache, which downloads only missing or invalid tiles. The manifest is rewritten after
    every mosaic, so a killed run keeps what it finished.
    """
    out_dir = Path(out_dir)
    names = [s.name or f"mosaic_{i:04d}.png" for i, s in enumerate(specs)]
    if len(set(names)) != len(names):
        raise ValueError("mosaic file names must be unique")
    for s in specs:
        s.tiles()  # validate every spec before any download
    try:
        previous = {m["file"]: m for m in read_manifest(out_dir)["mosaics"]}
    except ValueError:
        previous = {}
    done: dict[str, dict[str, Any]] = {}
    for name, spec in zip(names, specs, strict=True):
        old, path = previous.get(name), out_dir / name
        if old and old.get("origin") == _origin(spec) and path.is_file() and sha256_file(path) == old["sha256"]:
            done[name] = old
    todo = [(n, s) for n, s in zip(names, specs, strict=True) if n not in done]
    with tqdm(total=sum(len(s.tiles()) for _, s in todo), desc="tiles", unit="tile", disable=not progress) as bar:
        for name, spec in todo:
            mosaic = Image.new("RGB", (spec.size, spec.size))
            for z, x, y in spec.tiles():
                mosaic.paste(client.get(z, x, y), ((x - spec.x) * TILE_SIZE, (y - spec.y) * TILE_SIZE))
                bar.update(1)
            data = png_bytes(mosaic)
            write_bytes(out_dir / name, data)
            done[name] = {"file": name, "width": spec.size, "height": spec.size,
                          "origin": _origin(spec), "sha256": hashlib.sha256(data).hexdigest()}
            write_manifest(out_dir, [done[n] for n in names if n in done], source="xyz", tile_size=TILE_SIZE)
    return write_manifest(out_dir, [done[n] for n in names], source="xyz", tile_size=TILE_SIZE)


def download_tiles(
    mirrors: Sequence[str],
    specs: Sequence[MosaicSpec],
    out_dir: str | os.PathLike,
    cache_dir: str | os.PathLike,
    *,
    progress: bool = True,
    **client_options: Any,
) -> dict[str, Any]:
    """A :class:`TileClient` (``client_options``) + :func:`build_mosaics` in one call, closing the client after."""
    with TileClient(mirrors, cache_dir, **client_options) as client:
        return build_mosaics(client, specs, out_dir, progress=progress)
