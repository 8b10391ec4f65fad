"""``reviewpub serve``: a built folder over HTTP, so podcast apps can subscribe to its feed
and people can listen in a browser.

Only regular files inside the folder are served: ``..`` (plain or percent-encoded), hidden
files and symlinks that lead outside the folder get 404. Only GET and HEAD are answered
(anything else gets http.server's 501). Every ``feed.xml`` (the show's at the top of
``output/``, a review's in ``output/NAME/``) is served with its URLs rewritten to the address
the request came to (its ``Host`` header), so a feed works whatever address or port it is
reached at; a folder's address (``/``, ``/NAME/``) serves its ``index.html``, the listening
page (``/`` is the feed where there is no page); every other file is streamed from disk as it is, whole or as the
single byte range asked for (206), since podcast apps seek. A ``Range`` header it cannot
read or satisfy gets 416, and a connection idle for ``IDLE_TIMEOUT_S`` is closed.
"""

from __future__ import annotations

import email.utils
import http.server
import io
import logging
import mimetypes
import re
import socket
import urllib.parse
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast
from xml.sax.saxutils import escape

from reviewpub.errors import WriterError
from reviewpub.layout import FEED_NAME, PAGE_NAME
from reviewpub.writers.feed import ATOM

logger = logging.getLogger(__name__)
CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4b": "audio/mp4",
    ".m4a": "audio/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".epub": "application/epub+zip",
    ".m3u8": "audio/x-mpegurl; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
"""What a folder's address serves: the listening site's page (``/`` and ``/NAME/``)."""
HOST_HEADER = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
"""A Host header safe to write into the feed: a name or an IP literal, and a port."""
MAX_POSITION_DIGITS = 18
"""Digits a byte position may have: beyond any file, and where nginx stops too (RFC 9110 §14.1.1
asks for care with "potentially large decimal numerals"; Python refuses int() past 4,300)."""
BYTE_RANGE_SPEC = re.compile(
    rf"([0-9]{{1,{MAX_POSITION_DIGITS}}})-([0-9]{{0,{MAX_POSITION_DIGITS}}})|-([0-9]{{1,{MAX_POSITION_DIGITS}}})"
)
"""One ``first-last``, ``first-`` or ``-suffix`` of a ``Range: bytes=`` set."""
IDLE_TIMEOUT_S = 60.0
"""Seconds a connection may stay silent (or not read what it is sent) before it is dropped:
each connection holds a thread, so an idle one must not hold it for ever."""
COPY_CHUNK = 1 << 16


def feed_prefix(feed: bytes) -> bytes | None:
    """The URL prefix the feed's links start with (its ``atom:link rel="self"`` folder), as written."""
    try:
        root = ElementTree.fromstring(feed)
    except ElementTree.ParseError:
        return None
    for link in root.iter(f"{{{ATOM}}}link"):
        href = link.get("href", "")
        if link.get("rel") == "self" and href.endswith(FEED_NAME):
            prefix = href[: -len(FEED_NAME)]
            return escape(prefix, {'"': "&quot;"}).encode("utf-8") if prefix else None
    return None


def byte_range(header: str | None, size: int) -> tuple[int, int, int]:
    """(status, start, end): what to answer a ``Range`` header for a file of ``size`` bytes (RFC 9110 §14).

    200 with the whole file when there is no header, a unit other than bytes (which must be
    ignored) or several ranges (which may be: this server sends no multipart replies); 206
    with the ``[start, end)`` asked for, a last position past the end or a suffix longer than
    the file meaning "to the end"; 416 for a range that starts beyond the end, a suffix of
    zero bytes, or a header that cannot be read (no ``=``, not digits, last before first, a
    position of more than ``MAX_POSITION_DIGITS`` digits), which RFC 9110 lets a server reject.
    """
    if not header or not header.strip():
        return 200, 0, size
    unit, equals, range_set = header.strip().partition("=")
    unit = unit.strip().lower()
    if not equals or not unit:
        return 416, 0, 0
    if unit != "bytes":
        return 200, 0, size
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]  # empty list elements are allowed
    matches = [BYTE_RANGE_SPEC.fullmatch(spec) for spec in specs]
    positions = [match.groups() for match in matches if match is not None]
    if not specs or len(positions) < len(specs):
        return 416, 0, 0
    if any(first and last and int(last) < int(first) for first, last, _ in positions):
        return 416, 0, 0
    if len(positions) > 1:
        return 200, 0, size
    first, last, suffix = positions[0]
    if suffix is not None:  # "-N": the last N bytes
        start, end = max(0, size - int(suffix)), size
    else:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
    if start >= size or start >= end:
        return 416, 0, 0
    return 206, start, end


class FolderHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD for the files inside one folder."""

    server_version = "reviewpub"
    folder: Path
    """The served folder, resolved (set on the subclass ``make_server`` builds)."""

    def log_message(self, format: str, *args: Any) -> None:
        """Requests go to the debug log, not to stderr."""
        logger.debug("%s %s", self.address_string(), format % args)

    def resolve(self) -> Path | None:
        """The file a request names, or None when it is missing, hidden or outside the folder."""
        raw = urllib.parse.urlsplit(self.path).path
        try:
            relative = urllib.parse.unquote(raw, errors="strict").lstrip("/")
        except UnicodeDecodeError:
            return None
        if not raw.isascii() or "\0" in relative or "\\" in relative:
            return None
        if not relative or relative.endswith("/"):
            page = relative + PAGE_NAME
            # A folder built before the listening site existed: its address is still the feed.
            relative = page if relative or (self.folder / page).is_file() else FEED_NAME
        parts = relative.split("/")
        # ".", ".." and hidden files (lock files, atomic writes in progress) alike.
        if any(part.startswith(".") for part in parts):
            return None
        try:
            candidate = (self.folder / relative).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        # resolve() followed every symlink: what is left must still be inside the folder.
        if not candidate.is_relative_to(self.folder) or not candidate.is_file():
            return None
        return candidate

    def origin(self) -> str:
        """``http://host:port/`` as the client addressed this server (Host header, else the socket)."""
        host = self.headers.get("Host", "").strip()
        if not HOST_HEADER.fullmatch(host):
            host = cast(FolderServer, self.server).authority()
        return f"http://{host}/"

    def feed_body(self, path: Path) -> bytes:
        """The feed with the prefix of its URLs replaced by this request's origin and the feed's folder.

        The show's ``feed.xml`` is at the top of ``output/``; each review's is in ``output/NAME/``,
        so its links become ``http://host/NAME/...`` when the whole output is served.
        """
        feed = path.read_bytes()
        prefix = feed_prefix(feed)
        folder = path.parent.relative_to(self.folder).as_posix()
        here = self.origin() + ("" if folder == "." else urllib.parse.quote(folder) + "/")
        return feed.replace(prefix, here.encode("ascii")) if prefix else feed

    def do_HEAD(self) -> None:
        """The headers a GET would send."""
        self.answer(send_body=False)

    def do_GET(self) -> None:
        """The file, whole or one byte range of it."""
        self.answer(send_body=True)

    def answer(self, *, send_body: bool) -> None:
        """Send a file (or 404/416), honouring a single ``Range: bytes=a-b``."""
        path = self.resolve()
        if path is None:
            if self.redirect_to_folder():
                return
            self.send_error(404, "Not found")
            return
        try:
            if path.name == FEED_NAME:
                body = self.feed_body(path)
                self.send_file(
                    path, len(body), lambda output, start, end: output.write(body[start:end]), send_body=send_body
                )
            else:
                with path.open("rb") as handle:
                    size = path.stat().st_size

                    def copy(output: io.BufferedIOBase, start: int, end: int) -> None:
                        handle.seek(start)
                        copy_bytes(handle, output, end - start)

                    self.send_file(path, size, copy, send_body=send_body)
        except (ConnectionError, TimeoutError):
            # The client went away mid-file (podcast apps drop connections when seeking), or
            # stopped reading for IDLE_TIMEOUT_S.
            logger.debug("%s: client closed the connection or stopped reading", self.path)

    def redirect_to_folder(self) -> bool:
        """``/NAME`` → 301 ``/NAME/`` when that folder has a page, so its relative links resolve."""
        parts = urllib.parse.urlsplit(self.path)
        if not parts.path or parts.path.endswith("/"):
            return False
        original = self.path
        self.path = urllib.parse.urlunsplit(("", "", parts.path + "/", parts.query, ""))
        try:
            found = self.resolve()
        finally:
            self.path = original
        if found is None:
            return False
        self.send_response(301)
        # One leading slash: "//host/x" would send the browser to another host.
        location = "/" + parts.path.lstrip("/") + "/" + (f"?{parts.query}" if parts.query else "")
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True

    def send_file(
        self, path: Path, size: int, write: Callable[[io.BufferedIOBase, int, int], object], *, send_body: bool
    ) -> None:
        """Status and headers for ``path``, then its bytes (all, or the range asked for)."""
        status, start, end = byte_range(self.headers.get("Range"), size)
        if status == 416:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type(path))
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
        # The podcast namespace asks for CORS on transcripts and chapters (browser players).
        self.send_header("Access-Control-Allow-Origin", "*")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if send_body:
            write(self.wfile, start, end)


def copy_bytes(source: IO[bytes], target: io.BufferedIOBase, length: int) -> None:
    """Copy ``length`` bytes in chunks: a whole-book file is never read into memory."""
    while length > 0:
        chunk = source.read(min(COPY_CHUNK, length))
        if not chunk:
            break
        target.write(chunk)
        length -= len(chunk)


def content_type(path: Path) -> str:
    """The Content-Type of a served file, by its suffix."""
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class FolderServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server for one folder (a thread per request, so a slow download blocks nobody)."""

    daemon_threads = True

    def authority(self) -> str:
        """``host:port`` the server is bound to (``[::1]:8000`` for IPv6)."""
        host, port = self.socket.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class IPv6FolderServer(FolderServer):
    """The same, listening on an IPv6 address (``--host ::``)."""

    address_family = socket.AF_INET6


def make_server(
    folder: Path, *, host: str = "127.0.0.1", port: int = 8000, idle_timeout_s: float = IDLE_TIMEOUT_S
) -> FolderServer:
    """A server for ``folder``, bound but not yet serving (port 0 picks a free port).

    Run it with ``serve_forever()`` (in a thread, for tests) and stop it with ``shutdown()``
    then ``server_close()``. A connection silent for ``idle_timeout_s`` (no request, or a
    download it stopped reading) is closed, freeing its thread.

    Raises:
        WriterError: the folder has neither a feed nor a page, or the address cannot be listened on.
    """
    root = Path(folder).resolve()
    if not (root / FEED_NAME).is_file() and not (root / PAGE_NAME).is_file():
        raise WriterError(
            f"{folder}: no {FEED_NAME} or {PAGE_NAME} here; run `reviewpub build` first and serve "
            "its output folder or its output/NAME folder (one review)"
        )
    # http.server sets ``timeout`` on each connection's socket; a read or write that waits
    # longer ends that connection (handle_one_request catches the TimeoutError).
    handler = type("BoundFolderHandler", (FolderHandler,), {"folder": root, "timeout": idle_timeout_s})
    server_class = IPv6FolderServer if ":" in host else FolderServer
    try:
        return server_class((host, port), handler)
    except OSError as error:
        reason = error.strerror or str(error)
        raise WriterError(f"{host}:{port}: cannot listen there ({reason}); try another --port") from None


def serve(folder: Path, *, host: str = "127.0.0.1", port: int = 8000, idle_timeout_s: float = IDLE_TIMEOUT_S) -> None:
    """Serve ``folder`` until interrupted (Ctrl-C), logging the feed's address.

    Raises:
        WriterError: the folder has no feed, or the address cannot be listened on.
    """
    server = make_server(folder, host=host, port=port, idle_timeout_s=idle_timeout_s)
    if (Path(folder) / FEED_NAME).is_file():
        logger.info(
            "Serving %s on http://%s/ (the podcast feed: http://%s/%s; Ctrl-C to stop)",
            folder,
            server.authority(),
            server.authority(),
            FEED_NAME,
        )
    else:
        logger.info("Serving %s on http://%s/ (Ctrl-C to stop)", folder, server.authority())
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("Listening on %s: every device on your network can read these files.", host)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("Stopped.")
    finally:
        server.server_close()
