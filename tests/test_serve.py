"""`reviewpub serve`: the folder over HTTP on 127.0.0.1, feed URLs rewritten, nothing outside served."""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest

from reviewpub.errors import WriterError
from reviewpub.serve import byte_range, make_server
from reviewpub.writers.feed import write_feed
from tests.helpers.narration_factory import make_book, publish_folder

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


@contextlib.contextmanager
def running_server(folder: Path, **options: Any) -> Iterator[Served]:
    """``reviewpub serve`` on a free local port in a thread, shut down afterwards."""
    server = make_server(folder, host="127.0.0.1", port=0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Served(folder, str(host), int(port))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT_S)


@pytest.fixture(scope="module")
def served(folder: Path) -> Iterator[Served]:
    with running_server(folder) as server:
        yield server


def request(
    served: Served, path: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None
) -> Response:
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
        "captions/01-introduction.vtt": "text/vtt",
        "captions/01-introduction.srt": "application/x-subrip",
        "chapters.json": "application/json",
        "cover.jpg": "image/jpeg",
        "iss-review.m4b": "audio/mp4",
        "iss-review.mp3": "audio/mpeg",
        "iss-review.read-aloud.epub": "application/epub+zip",
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
    write_feed(
        book.document, book.narration, copy, copy / "feed.xml", base_url="https://example.org/a&b/x/", category=None
    )
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


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/audio/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/audio/..%2F..%2Fsecret.txt",
        "/escape.txt",
        "/.hidden.json",
        "/%2ehidden.json",
        "/nope.mp3",
        "/audio",
        "/audio/",
        "/%00",
        "/feed.xml%00.mp3",
        "/%ff%fe",
        "//etc/passwd",
        "/..\\secret.txt",
    ],
)
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
    with pytest.raises(WriterError, match=r"no feed\.xml or index\.html here; run `reviewpub build` first"):
        make_server(tmp_path, host="127.0.0.1", port=0)


def test_a_port_in_use_is_a_one_line_error(folder: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(WriterError, match=f"127.0.0.1:{port}: cannot listen there") as raised:
            make_server(folder, host="127.0.0.1", port=port)
    assert "\n" not in str(raised.value)


# Range headers (RFC 9110 §14): one range is served, several are ignored (the whole file, 200),
# and anything unreadable or unsatisfiable is 416 (issue 15, defect 10: a 5,000-digit position
# raised ValueError in int(), printed a traceback and sent an empty reply).
HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, (200, 0, 1000)),
        ("", (200, 0, 1000)),
        ("bytes=0-99", (206, 0, 100)),
        ("BYTES=0-99", (206, 0, 100)),  # range units are case-insensitive
        ("bytes=990-", (206, 990, 1000)),
        ("bytes=990-5000", (206, 990, 1000)),  # a last position past the end means "to the end"
        ("bytes=-10", (206, 990, 1000)),
        ("bytes=-5000", (206, 0, 1000)),  # a suffix longer than the file is the whole file
        ("bytes=999-999", (206, 999, 1000)),
        ("bytes= 0-9 ,", (206, 0, 10)),  # spaces and empty list elements are allowed
        ("bytes=1000-", (416, 0, 0)),  # starts at the end
        ("bytes=-0", (416, 0, 0)),  # a suffix of no bytes
        ("bytes=20-10", (416, 0, 0)),  # last before first
        ("bytes=0-1,20-10", (416, 0, 0)),
        (f"bytes=0-{HUGE}", (416, 0, 0)),
        (f"bytes={HUGE}-", (416, 0, 0)),
        (f"bytes=-{HUGE}", (416, 0, 0)),
        ("bytes=0-9999999999999999999", (416, 0, 0)),  # 19 digits: past MAX_POSITION_DIGITS
        ("bytes=0-999999999999999999", (206, 0, 1000)),  # 18 digits: read, and clipped to the file
        ("bytes=-", (416, 0, 0)),
        ("bytes=", (416, 0, 0)),
        ("bytes=a-b", (416, 0, 0)),
        ("bytes=0x10-", (416, 0, 0)),
        ("bytes=\u0663-", (416, 0, 0)),  # an Arabic-Indic digit is not a position
        ("bytes 0-9", (416, 0, 0)),
        ("=0-9", (416, 0, 0)),
        ("garbage", (416, 0, 0)),
        ("bytes=0-1,5-6", (200, 0, 1000)),  # several ranges: the whole file
        ("bytes=0-1,2000-", (200, 0, 1000)),
        ("items=0-9", (200, 0, 1000)),  # a unit this server does not know is ignored
    ],
)
def test_byte_range_rules(header: str | None, expected: tuple[int, int, int]) -> None:
    assert byte_range(header, 1000) == expected


def test_an_empty_file_satisfies_no_range() -> None:
    assert byte_range("bytes=0-", 0) == (416, 0, 0)
    assert byte_range("bytes=-10", 0) == (416, 0, 0)
    assert byte_range(None, 0) == (200, 0, 0)


@pytest.mark.parametrize(
    "header", [f"bytes=0-{HUGE}", f"bytes={HUGE}-{HUGE}", f"bytes=-{HUGE}", "bytes=20-10", "bytes=abc", "bytes=-"]
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_an_unreadable_or_impossible_range_is_416_not_a_dropped_connection(
    served: Served, header: str, method: str
) -> None:
    size = (served.folder / "iss-review.m4b").stat().st_size
    response = request(served, "/iss-review.m4b", method=method, headers={"Range": header})
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{size}" and response.body == b""
    feed = request(served, "/feed.xml", method=method, headers={"Range": header})
    assert feed.status == 416 and feed.headers["Content-Range"].startswith("bytes */")
    assert request(served, "/feed.xml").status == 200, "the server still answers"


def test_a_suffix_longer_than_the_file_serves_it_all(served: Served) -> None:
    whole = (served.folder / "iss-review.m4b").read_bytes()
    response = request(served, "/iss-review.m4b", headers={"Range": f"bytes=-{len(whole) * 2}"})
    assert response.status == 206 and response.body == whole
    assert response.headers["Content-Range"] == f"bytes 0-{len(whole) - 1}/{len(whole)}"


@pytest.fixture
def impatient(folder: Path) -> Iterator[Served]:
    """A server that drops a connection after half a second of silence."""
    with running_server(folder, idle_timeout_s=0.5) as server:
        yield server


@pytest.mark.parametrize("sent", [b"", b"GET /feed.xml HTTP/1.1\r\nHost: x\r\n"])
def test_an_idle_connection_is_closed_by_the_server(impatient: Served, sent: bytes) -> None:
    with socket.create_connection((impatient.host, impatient.port), timeout=TIMEOUT_S) as client:
        client.sendall(sent)  # nothing, or a request whose headers never end
        try:
            received = client.recv(1024)
        except TimeoutError:
            pytest.fail(f"the server kept a silent connection open for {TIMEOUT_S} s")
    assert received == b"", "closed without a reply"
    assert request(impatient, "/feed.xml").status == 200, "a prompt client is still served"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A built output folder with the listening site: index, one review's page, the show feed."""
    from reviewpub.writers.site import IndexEntry, SiteLinks, write_index, write_review_page

    root = tmp_path_factory.mktemp("site")
    book = make_book(root / "work")
    output = root / "output"
    review = publish_folder(book, output / book.document.name)
    write_review_page(book.document, book.narration, review, SiteLinks(feed="../feed.xml"))
    shutil.copyfile(review / "feed.xml", output / "feed.xml")
    write_index(output, "Reviews", "en", [IndexEntry(book.document.name, "A review", "en", 12.0)], "feed.xml")
    with running_server(output) as server:
        yield server


def test_the_address_of_a_folder_is_its_listening_page(site: Served) -> None:
    name = next(path.name for path in site.folder.iterdir() if path.is_dir())
    for path, page in (("/", "index.html"), (f"/{name}/", f"{name}/index.html")):
        response = request(site, path)
        assert response.status == 200 and response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.body == (site.folder / page).read_bytes()
    moved = request(site, f"/{name}?t=1")
    assert moved.status == 301 and moved.headers["Location"] == f"/{name}/?t=1"
    script = request(site, f"/{name}/site.js")
    assert script.status == 200 and script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    feed = request(site, "/feed.xml")
    assert feed.status == 200 and feedparser.parse(feed.body).entries
    assert site.origin.encode() in feed.body
    assert request(site, "/missing/").status == 404 and request(site, "/missing").status == 404
