"""`reviewpub serve`: the folder over HTTP on 127.0.0.1, feed URLs rewritten, nothing outside served."""

from __future__ import annotations

import http.client
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest

from reviewpub.errors import WriterError
from reviewpub.serve import make_server
from reviewpub.writers.feed import write_feed
from tests.narration_factory import make_book, publish_folder

TIMEOUT_S = 10


@dataclass(frozen=True)
class Served:
    folder: Path
    host: str
    port: int

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}/"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve")
    folder = publish_folder(make_book(root / "work"), root / "output" / "iss-review")
    (root / "output" / "secret.txt").write_text("not for you")
    (folder / "escape.txt").symlink_to(root / "output" / "secret.txt")
    (folder / "inside.vtt").symlink_to(folder / "captions" / "01-introduction.vtt")
    (folder / ".hidden.json").write_text("{}")
    with zipfile.ZipFile(folder / "iss-review.read-aloud.epub", "w") as epub:
        epub.writestr("mimetype", "application/epub+zip")
    return folder


@pytest.fixture(scope="module")
def served(folder: Path) -> Iterator[Served]:
    server = make_server(folder, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Served(folder, str(host), int(port))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT_S)


def request(served: Served, path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
            body: bytes | None = None) -> Response:
    """One request with the path sent exactly as given (no client-side normalisation)."""
    connection = http.client.HTTPConnection(served.host, served.port, timeout=TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, response.read(), dict(response.getheaders()))
    finally:
        connection.close()


def test_the_feed_is_rewritten_and_every_enclosure_downloads_byte_for_byte(served: Served) -> None:
    response = request(served, "/feed.xml")
    assert response.status == 200 and response.headers["Content-Type"].startswith("application/rss+xml")
    assert int(response.headers["Content-Length"]) == len(response.body)
    parsed = feedparser.parse(response.body)
    assert not parsed.bozo and len(parsed.entries) == 4
    assert b"127.0.0.1:8000" not in response.body or served.port == 8000
    for entry in parsed.entries:
        (enclosure,) = entry.enclosures
        assert enclosure.href.startswith(served.origin)
        name = enclosure.href.removeprefix(served.origin)
        download = request(served, "/" + name)
        assert download.status == 200 and download.headers["Content-Type"] == "audio/mpeg"
        assert download.body == (served.folder / name).read_bytes()
        assert int(enclosure.length) == len(download.body) == int(download.headers["Content-Length"])
    assert request(served, "/").body == response.body


def test_transcripts_chapters_and_cover_download_with_their_types(served: Served) -> None:
    expected = {
        "captions/01-introduction.vtt": "text/vtt", "captions/01-introduction.srt": "application/x-subrip",
        "chapters.json": "application/json", "cover.jpg": "image/jpeg", "iss-review.m4b": "audio/mp4",
        "iss-review.mp3": "audio/mpeg", "iss-review.read-aloud.epub": "application/epub+zip",
    }
    for name, media_type in expected.items():
        response = request(served, "/" + name)
        assert response.status == 200, name
        assert response.headers["Content-Type"].split(";")[0] == media_type
        assert response.body == (served.folder / name).read_bytes()


def test_links_in_the_feed_follow_the_host_the_client_used(served: Served) -> None:
    body = request(served, "/feed.xml", headers={"Host": "podcasts.local:9000"}).body
    urls = [entry.enclosures[0].href for entry in feedparser.parse(body).entries]
    assert urls[0] == "http://podcasts.local:9000/audio/01-introduction.mp3"
    # A Host header that is not a host name cannot inject anything into the feed.
    body = request(served, "/feed.xml", headers={"Host": 'evil"><x y="'}).body
    assert b"evil" not in body and feedparser.parse(body).entries[0].enclosures[0].href.startswith(served.origin)


def test_a_feed_built_for_a_public_base_url_is_rewritten_too(folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "public"
    shutil.copytree(folder, copy, symlinks=True)
    book = make_book(tmp_path / "work")
    write_feed(book.document, book.narration, copy, copy / "feed.xml", base_url="https://example.org/a&b/x/",
               category=None)
    assert b"https://example.org/a&amp;b/x/audio/01-introduction.mp3" in (copy / "feed.xml").read_bytes()
    server = make_server(copy, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        body = request(Served(copy, str(host), int(port)), "/feed.xml").body
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT_S)
    assert b"example.org" not in body
    parsed = feedparser.parse(body)
    assert parsed.entries[0].enclosures[0].href == f"http://{host}:{port}/audio/01-introduction.mp3"
    assert parsed.feed.image.href == f"http://{host}:{port}/cover.jpg"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/audio/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt", "/audio/..%2F..%2Fsecret.txt", "/escape.txt", "/.hidden.json", "/%2ehidden.json",
    "/nope.mp3", "/audio", "/audio/", "/%00", "/feed.xml%00.mp3", "/%ff%fe", "//etc/passwd", "/..\\secret.txt",
])
def test_nothing_outside_the_folder_or_hidden_is_served(served: Served, path: str) -> None:
    response = request(served, path)
    assert response.status in (403, 404), path
    assert b"not for you" not in response.body


def test_a_symlink_that_stays_inside_is_served(served: Served) -> None:
    response = request(served, "/inside.vtt")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/vtt")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_only_get_and_head_are_answered(served: Served, method: str) -> None:
    before = (served.folder / "feed.xml").read_bytes()
    response = request(served, "/feed.xml", method=method, body=b"<rss/>")
    assert response.status == 501
    assert (served.folder / "feed.xml").read_bytes() == before


def test_head_sends_the_headers_of_a_get_without_a_body(served: Served) -> None:
    response = request(served, "/iss-review.mp3", method="HEAD")
    assert response.status == 200 and response.body == b""
    assert int(response.headers["Content-Length"]) == (served.folder / "iss-review.mp3").stat().st_size
    assert response.headers["Accept-Ranges"] == "bytes"


def test_range_requests_answer_206_with_the_bytes_asked_for(served: Served) -> None:
    whole = (served.folder / "iss-review.m4b").read_bytes()
    size = len(whole)
    response = request(served, "/iss-review.m4b", headers={"Range": "bytes=100-199"})
    assert response.status == 206 and response.body == whole[100:200]
    assert response.headers["Content-Range"] == f"bytes 100-199/{size}" and response.headers["Content-Length"] == "100"
    assert request(served, "/iss-review.m4b", headers={"Range": "bytes=-10"}).body == whole[-10:]
    tail = request(served, "/iss-review.m4b", headers={"Range": f"bytes={size - 5}-"})
    assert tail.status == 206 and tail.body == whole[-5:]
    clipped = request(served, "/iss-review.m4b", headers={"Range": f"bytes={size - 3}-{size + 100}"})
    assert clipped.body == whole[-3:] and clipped.headers["Content-Range"] == f"bytes {size - 3}-{size - 1}/{size}"
    beyond = request(served, "/iss-review.m4b", headers={"Range": f"bytes={size}-"})
    assert beyond.status == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    several = request(served, "/iss-review.m4b", headers={"Range": "bytes=0-1,5-6"})
    assert several.status == 200 and several.body == whole


def test_a_range_of_the_feed_is_a_range_of_the_rewritten_feed(served: Served) -> None:
    whole = request(served, "/feed.xml").body
    part = request(served, "/feed.xml", headers={"Range": "bytes=10-59"})
    assert part.status == 206 and part.body == whole[10:60]


def test_a_folder_without_a_feed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WriterError, match="no feed.xml here; run `reviewpub build` first"):
        make_server(tmp_path, host="127.0.0.1", port=0)


def test_a_port_in_use_is_a_one_line_error(folder: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(WriterError, match=f"127.0.0.1:{port}: cannot listen there") as raised:
            make_server(folder, host="127.0.0.1", port=port)
    assert "\n" not in str(raised.value)
