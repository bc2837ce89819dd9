"""Tile downloader against a real local HTTP server with injected faults (127.0.0.1 only)."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import requests
from PIL import Image

from pppcore.repro.data.manifest import verify_manifest
from pppcore.repro.data.tiles import (
    InvalidTile,
    MosaicSpec,
    TileClient,
    TileError,
    build_mosaics,
    download_tiles,
    lonlat_to_tile,
    mosaic_specs,
    mosaic_tiles,
    validate_tile,
)

STALL_S, READ_TIMEOUT_S = 1.0, 0.3


def tile_png(z: int, x: int, y: int, size: int = 256) -> bytes:
    """Deterministic, non-blank content per tile."""
    rng = np.random.default_rng([z, x, y])
    arr = rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8).repeat(16, 0).repeat(16, 1)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def flat_png(size: int = 256) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (170, 211, 223)).save(buf, format="PNG")
    return buf.getvalue()


class TileServer:
    """Serves ``/<mirror>/<z>/<x>/<y>.png``. ``faults[path]`` is a list of faults consumed one
    per request (then the tile is served); ``always[path]`` or ``always[mirror]`` is a fault
    served every time. Counts requests per path."""

    def __init__(self):
        self.faults: dict[str, list[str]] = {}
        self.always: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self.lock, self.stop = threading.Lock(), threading.Event()
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                try:
                    state.handle(self)
                except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def template(self, mirror: str = "m1") -> str:
        return f"{self.base}/{mirror}/{{z}}/{{x}}/{{y}}.png"

    def path(self, z: int, x: int, y: int, mirror: str = "m1") -> str:
        return f"/{mirror}/{z}/{x}/{y}.png"

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = h.path.strip("/").split("/")
        with self.lock:
            self.counts[h.path] += 1
            queue = self.faults.get(h.path, [])
            fault = self.always.get(h.path) or self.always.get(parts[0]) or (queue.pop(0) if queue else None)
        try:
            z, x, y = int(parts[1]), int(parts[2]), int(parts[3].removesuffix(".png"))
        except (IndexError, ValueError):
            fault = "404"
        if fault == "500":
            return self.send(h, 500, b"oops", "text/plain")
        if fault == "429":
            return self.send(h, 429, b"slow down", "text/plain", {"Retry-After": "1"})
        if fault == "404":
            return self.send(h, 404, b"not found", "text/plain")
        if fault == "html":
            return self.send(h, 200, b"<html><body>Access denied</body></html>", "text/html")
        if fault == "blank":
            return self.send(h, 200, flat_png())
        body = tile_png(z, x, y)
        if fault == "stall":
            self.stop.wait(STALL_S)
        if fault == "cut":  # promises the full length, sends half, hangs up
            return self.send(h, 200, body[: len(body) // 2], length=len(body))
        if fault == "short":  # a consistent but truncated PNG
            return self.send(h, 200, body[: len(body) // 2])
        self.send(h, 200, body)

    @staticmethod
    def send(h, status: int, body: bytes, ctype: str = "image/png", headers: dict | None = None,
             length: int | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
        h.close_connection = True

    def shutdown(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    srv = TileServer()
    yield srv
    srv.shutdown()


def make_client(server: TileServer, tmp_path, mirrors=("m1",), **kw) -> TileClient:
    session = requests.Session()
    session.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
    opts = dict(timeout=(1.0, READ_TIMEOUT_S), retries=3, backoff=0.01, backoff_max=0.05,
                retry_after_max=1.0, min_interval=0.0, session=session)
    return TileClient([server.template(m) for m in mirrors], tmp_path / "cache", **{**opts, **kw})


# --------------------------------------------------------------------------- pure helpers


def test_lonlat_to_tile():
    assert lonlat_to_tile(0.0, 0.0, 1) == (1, 1)
    assert lonlat_to_tile(0.0, 0.0, 0) == (0, 0)
    assert lonlat_to_tile(-0.1276, 51.5072, 10) == (511, 340)  # London
    assert lonlat_to_tile(13.4050, 52.5200, 10) == (550, 335)  # Berlin
    assert lonlat_to_tile(180.0, -90.0, 3) == (7, 7)  # edges clamp to the grid
    assert lonlat_to_tile(-180.0, 90.0, 3) == (0, 0)


def test_mosaic_tiles_and_specs():
    assert mosaic_tiles(3, 2, 1, 512) == [(3, 2, 1), (3, 3, 1), (3, 2, 2), (3, 3, 2)]
    with pytest.raises(ValueError, match="multiple"):
        mosaic_tiles(3, 0, 0, 300)
    with pytest.raises(ValueError, match="leaves"):
        mosaic_tiles(1, 1, 0, 512)
    specs = mosaic_specs([(-0.5, 51.0, 0.5, 52.0)], zoom=10, size=512, n=3)
    assert len(specs) == 3 and len({(s.x, s.y) for s in specs}) == 3
    assert all(abs(a.x - b.x) >= 2 or abs(a.y - b.y) >= 2 for a in specs for b in specs if a is not b)
    with pytest.raises(ValueError, match="only"):
        mosaic_specs([(-0.5, 51.0, 0.5, 52.0)], zoom=10, size=512, n=10_000)


def test_validate_tile():
    assert validate_tile(tile_png(1, 0, 0)).size == (256, 256)
    with pytest.raises(InvalidTile, match="blank") as e:
        validate_tile(flat_png())
    assert not e.value.transient
    with pytest.raises(InvalidTile, match="not an image"):
        validate_tile(b"<html>nope</html>")
    with pytest.raises(InvalidTile, match="expected 256x256"):
        validate_tile(tile_png(1, 0, 0, size=128))
    body = tile_png(1, 0, 0)
    with pytest.raises(InvalidTile, match="truncated") as e:
        validate_tile(body[: len(body) // 2])
    assert e.value.transient


def test_client_rejects_bad_templates(tmp_path):
    with pytest.raises(ValueError, match="needs"):
        TileClient(["https://example.org/{z}/{x}.png"], tmp_path)
    with pytest.raises(ValueError, match="non-empty"):
        TileClient([], tmp_path)


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("faults", [["500", "500"], ["429"], ["stall"], ["cut"], ["short"], ["500", "short", "500"]])
def test_transient_faults_are_retried(server, tmp_path, faults):
    server.faults[server.path(4, 3, 5)] = list(faults)
    client = make_client(server, tmp_path)
    t0 = time.monotonic()
    img = client.get(4, 3, 5)
    elapsed = time.monotonic() - t0
    assert server.counts[server.path(4, 3, 5)] == len(faults) + 1
    assert np.array_equal(np.asarray(img), np.asarray(Image.open(io.BytesIO(tile_png(4, 3, 5)))))
    assert client.tile_path(4, 3, 5).read_bytes() == tile_png(4, 3, 5)
    if "429" in faults:
        assert 0.9 <= elapsed < 3.0  # Retry-After: 1 honoured
    if "stall" in faults:
        assert elapsed < STALL_S  # gave up on the stalled request at the read timeout


def test_retry_after_is_capped(server, tmp_path):
    server.faults[server.path(4, 1, 1)] = ["429"]
    client = make_client(server, tmp_path, retry_after_max=0.1)
    t0 = time.monotonic()
    client.get(4, 1, 1)
    assert time.monotonic() - t0 < 0.8


def test_transient_fault_that_persists_gives_up(server, tmp_path):
    server.always[server.path(4, 2, 2)] = "500"
    with pytest.raises(TileError, match=r"tile 4/2/2 .*HTTP 500.*after 3 attempts"):
        make_client(server, tmp_path, retries=2).get(4, 2, 2)
    assert server.counts[server.path(4, 2, 2)] == 3


@pytest.mark.parametrize("fault, why, attempts",
                         [("404", "HTTP 404", 1), ("html", "not an image", 1), ("blank", "blank", 1)])
def test_permanent_faults_raise_tile_error(server, tmp_path, fault, why, attempts):
    server.always[server.path(5, 6, 7)] = fault
    client = make_client(server, tmp_path)
    with pytest.raises(TileError, match=why) as e:
        client.get(5, 6, 7)
    msg = str(e.value)
    assert "5/6/7" in msg and server.template().format(z=5, x=6, y=7) in msg
    assert server.counts[server.path(5, 6, 7)] == attempts  # permanent: no retries
    assert not client.tile_path(5, 6, 7).exists()


def test_mirror_fallback(server, tmp_path):
    server.always["bad"] = "500"
    client = make_client(server, tmp_path, mirrors=("bad", "good"), retries=2)
    client.get(3, 1, 2)
    assert server.counts[server.path(3, 1, 2, "bad")] == 3
    assert server.counts[server.path(3, 1, 2, "good")] == 1
    server.always["good"] = "404"  # both fail: the error lists both URLs
    with pytest.raises(TileError) as e:
        client.get(3, 2, 2)
    assert "/bad/3/2/2.png" in str(e.value) and "/good/3/2/2.png" in str(e.value)


def test_rate_limit_and_user_agent(server, tmp_path):
    seen = []
    orig = server.handle
    server.handle = lambda h: (seen.append(h.headers.get("User-Agent")), orig(h))[1]
    client = make_client(server, tmp_path, min_interval=0.1)
    t0 = time.monotonic()
    for x in range(3):
        client.get(3, x, 0)
    assert time.monotonic() - t0 >= 0.2
    assert seen and all(ua.startswith("pppcore-ppp-reproduction/") for ua in seen)


# --------------------------------------------------------------------------- mosaics


def test_build_mosaics_resume_and_manifest(server, tmp_path):
    specs = [MosaicSpec(4, 2, 3, 512), MosaicSpec(4, 8, 8, 512, name="b.png")]
    tiles = [t for s in specs for t in s.tiles()]
    out = tmp_path / "mosaics"
    client = make_client(server, tmp_path)
    manifest = build_mosaics(client, specs, out, progress=True)
    assert [m["file"] for m in manifest["mosaics"]] == ["mosaic_0000.png", "b.png"]
    assert all(server.counts[server.path(*t)] == 1 for t in tiles)
    verify_manifest(out)
    mosaic = np.asarray(Image.open(out / "b.png"))
    assert mosaic.shape == (512, 512, 3)
    expected = np.asarray(Image.open(io.BytesIO(tile_png(4, 9, 8))))  # top-right tile
    assert np.array_equal(mosaic[:256, 256:], expected)
    m0 = manifest["mosaics"][0]
    assert m0["origin"] == {"zoom": 4, "x": 2, "y": 3, "tiles_per_side": 2} and m0["width"] == 512

    # a second run touches neither the network nor the files
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert build_mosaics(client, specs, out, progress=False)["mosaics"] == manifest["mosaics"]
    assert all(server.counts[server.path(*t)] == 1 for t in tiles)
    assert (out / "b.png").stat().st_mtime_ns == before["b.png"]

    # lose both mosaics, one cached tile, and corrupt another: only those two are fetched
    for m in manifest["mosaics"]:
        (out / m["file"]).unlink()
    client.tile_path(*tiles[1]).unlink()
    corrupt = client.tile_path(*tiles[6])
    corrupt.write_bytes(corrupt.read_bytes()[:300])
    assert build_mosaics(make_client(server, tmp_path), specs, out, progress=False) == manifest
    assert {t: server.counts[server.path(*t)] for t in tiles} == {t: 1 + (t in (tiles[1], tiles[6])) for t in tiles}
    verify_manifest(out)
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_verify_manifest_names_the_bad_file(server, tmp_path):
    specs = [MosaicSpec(3, 0, 0, 256), MosaicSpec(3, 1, 0, 256)]
    out = tmp_path / "m"
    client = make_client(server, tmp_path)
    build_mosaics(client, specs, out, progress=False)
    img = np.array(Image.open(out / "mosaic_0001.png"))
    img[0, 0] ^= 1
    Image.fromarray(img).save(out / "mosaic_0001.png")
    with pytest.raises(ValueError, match="mosaic_0001.png.*sha256"):
        verify_manifest(out)
    # a rebuild redoes that mosaic from the tile cache, without requests
    n = sum(server.counts.values())
    build_mosaics(client, specs, out, progress=False)
    assert sum(server.counts.values()) == n
    verify_manifest(out)
    (out / "mosaic_0000.png").unlink()
    with pytest.raises(ValueError, match="mosaic_0000.png.*missing"):
        verify_manifest(out)
    with pytest.raises(ValueError, match="manifest missing"):
        verify_manifest(tmp_path / "nowhere")


def test_build_mosaics_stops_on_a_bad_tile(server, tmp_path):
    server.always[server.path(3, 1, 1)] = "404"
    specs = [MosaicSpec(3, 4, 4, 256), MosaicSpec(3, 0, 0, 512)]
    with pytest.raises(TileError, match="3/1/1"):
        build_mosaics(make_client(server, tmp_path), specs, tmp_path / "m", progress=False)
    manifest = verify_manifest(tmp_path / "m")  # the finished mosaic is kept and recorded
    assert [m["file"] for m in manifest["mosaics"]] == ["mosaic_0000.png"]


def test_download_tiles_one_call(server, tmp_path):
    session = requests.Session()
    session.trust_env = False
    manifest = download_tiles([server.template()], [MosaicSpec(2, 1, 1, 512)], tmp_path / "m", tmp_path / "cache",
                              progress=False, session=session, min_interval=0.0)
    assert manifest["mosaics"][0]["width"] == 512 and (tmp_path / "cache" / "2" / "2" / "2.png").is_file()
    verify_manifest(tmp_path / "m")
