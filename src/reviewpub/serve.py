"""``reviewpub serve``: a built folder over HTTP, so podcast apps can subscribe to its feed.

Only files inside the folder are served (``..``, encoded dots and symlinks pointing out are
refused); the feed's URLs are rewritten to the address the request came to; Range requests
are answered, since podcast apps seek.
"""

from __future__ import annotations

import http.server
import logging
import mimetypes
import re
import socketserver
import urllib.parse
from pathlib import Path
from typing import Any

from reviewpub.errors import WriterError

logger = logging.getLogger(__name__)
CONTENT_TYPES = {
    ".mp3": "audio/mpeg", ".m4b": "audio/mp4", ".m4a": "audio/mp4", ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8", ".xml": "application/rss+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8", ".jpg": "image/jpeg", ".png": "image/png",
    ".epub": "application/epub+zip", ".m3u8": "audio/x-mpegurl; charset=utf-8",
}
FEED_NAME = "feed.xml"
SELF_LINK = re.compile(rb'<atom:link href="([^"]+)feed\.xml" rel="self"')


class FolderHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD for files inside one folder; everything else is refused."""

    server_version = "reviewpub"
    folder: Path

    def log_message(self, format: str, *args: Any) -> None:
        """Requests go to the debug log, not to stderr."""
        logger.debug("%s %s", self.address_string(), format % args)

    def resolve(self) -> Path | None:
        """The file a request names, or None when it is outside the folder or missing."""
        raw = urllib.parse.urlsplit(self.path).path
        relative = urllib.parse.unquote(raw).lstrip("/") or FEED_NAME
        if "\0" in relative or any(part in ("..", ".") for part in relative.split("/")):
            return None
        candidate = (self.folder / relative).resolve()
        if not candidate.is_relative_to(self.folder) or not candidate.is_file():
            return None
        if any(part.startswith(".") for part in candidate.relative_to(self.folder).parts):
            return None
        return candidate

    def origin(self) -> str:
        """The address the client used, from the Host header (else the socket's)."""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", host):
            host = "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}/"

    def body_of(self, path: Path) -> bytes:
        """The file's bytes; the feed with its URLs rewritten for this origin."""
        data = path.read_bytes()
        if path.name == FEED_NAME and path.parent == self.folder:
            found = SELF_LINK.search(data)
            if found:
                data = data.replace(found.group(1), self.origin().encode("ascii"))
        return data

    def do_HEAD(self) -> None:  # noqa: N802 - the http.server naming
        """Headers only."""
        self.answer(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        """The file, whole or a byte range of it."""
        self.answer(send_body=True)

    def answer(self, *, send_body: bool) -> None:
        """Send a file (or 404), honouring a single ``Range: bytes=a-b``."""
        path = self.resolve()
        if path is None:
            self.send_error(404, "Not found")
            return
        data = self.body_of(path)
        status, start, end = 200, 0, len(data)
        requested = self.headers.get("Range")
        if requested:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", requested.strip())
            if match and (match.group(1) or match.group(2)):
                if match.group(1):
                    start = int(match.group(1))
                    end = int(match.group(2)) + 1 if match.group(2) else len(data)
                else:
                    start = max(0, len(data) - int(match.group(2)))
                end = min(end, len(data))
                if start >= len(data) or start >= end:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
                         or "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        if send_body:
            self.wfile.write(data[start:end])


class FolderServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """A threading HTTP server for one folder."""

    daemon_threads = True
    allow_reuse_address = True


def make_server(folder: Path, *, host: str = "127.0.0.1", port: int = 8000) -> FolderServer:
    """A server for ``folder``, bound but not yet serving (port 0 picks a free port)."""
    root = Path(folder).resolve()
    if not (root / FEED_NAME).is_file():
        raise WriterError(f"{folder}: no {FEED_NAME} here; run `reviewpub build` first and serve its output/NAME folder")
    handler = type("BoundFolderHandler", (FolderHandler,), {"folder": root})
    try:
        return FolderServer((host, port), handler)
    except OSError as error:
        raise WriterError(f"{host}:{port}: cannot listen there ({error.strerror}); try another --port") from None


def serve(folder: Path, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``folder`` until interrupted, logging the feed's address."""
    server = make_server(folder, host=host, port=port)
    address, bound_port = server.server_address[:2]
    logger.info("Serving %s on http://%s:%s/feed.xml (Ctrl-C to stop)", folder, address, bound_port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("Listening on %s: every device on your network can read these files.", host)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("Stopped.")
    finally:
        server.server_close()
