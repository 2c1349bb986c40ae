"""A stand-in for the archive: a folder served over HTTP with Range requests, on 127.0.0.1 only.

DANDI serves assets from S3, which answers HTTP Range requests; nwb_it reads a remote NWB file
by ranges (only what an analysis touches). This server does the same for a local folder, so the
remote path can be tried end to end with no network (the guide's "A DANDI asset, start to finish").

    python -m nwb_it.examples.archive dandiset --port 8765 --seconds 300

Examples
--------
>>> import tempfile, urllib.request
>>> folder = tempfile.mkdtemp(); _ = open(f"{folder}/a.bin", "wb").write(b"0123456789")
>>> with serve_folder(folder) as url:
...     req = urllib.request.Request(url + "/a.bin", headers={"Range": "bytes=2-4"})
...     urllib.request.urlopen(req).read()
b'234'
"""
from __future__ import annotations

import argparse
import contextlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


class RangeHandler(BaseHTTPRequestHandler):
    """GET and HEAD of the files under ``root``, with ``Range: bytes=a-b`` (206) as S3 answers it."""

    root: Path

    def log_message(self, *args) -> None:            # quiet
        pass

    def _file(self) -> Path | None:
        path = (self.root / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
        return path if path.is_file() and path.is_relative_to(self.root.resolve()) else None

    def do_HEAD(self) -> None:
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        size = path.stat().st_size
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        start, end = (int(m.group(1)), min(int(m.group(2) or size - 1), size - 1)) if m else (0, size - 1)
        with open(path, "rb") as fh:
            fh.seek(start)
            body = fh.read(max(end - start + 1, 0))
        self.send_response(206 if m else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        with contextlib.suppress(OSError):          # the client closed a body it did not need
            self.wfile.write(body)


@contextlib.contextmanager
def serve_folder(folder: str | Path, port: int = 0) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (``port=0``: a free one) while the block runs; yields the base URL.

    The server is a thread of this process: to read NWB files from it in this process, start it in another one
    (``python -m nwb_it.examples.archive``) instead. A garbage collection in a server thread can close an hdmf
    file (h5py's global lock) while the reading thread holds that lock waiting for the server's answer.
    """
    handler = type("Handler", (RangeHandler,), {"root": Path(folder)})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="serve a folder on 127.0.0.1 with HTTP Range requests, as the archive")
    ap.add_argument("folder", type=Path)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seconds", type=float, default=300.0, help="stop after this long (it never runs unattended)")
    args = ap.parse_args(argv)
    with serve_folder(args.folder, args.port) as url:
        print(f"serving {args.folder} at {url} for {args.seconds:g} s", flush=True)
        threading.Event().wait(args.seconds)


if __name__ == "__main__":
    main()
