"""A folder of reviews is one show: ``output/feed.xml``, ``reviewpub.toml``, incremental builds, serve."""

from __future__ import annotations

import hashlib
import html
import http.client
import io
import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import feedparser
import podcastparser
import pytest
import webvtt
from lxml import etree

from reviewpub.episodes import read_ledger
from reviewpub.errors import ExitStatus
from reviewpub.serve import make_server
from tests.helpers.cli import run_cli

PODCAST = "https://podcastindex.org/namespace/1.0"
DEFAULT_BASE = "http://127.0.0.1:8000/"
CONFIG = """\
title = "Weekly Reviews"
author = "Ada Critic"
owner_name = "Ada Critic"
owner_email = "ada@example.org"
category = ["Arts", "Books"]
description = "A review a week, read aloud."
"""
REVIEW_A = "# Review A\n\n## First part\n\nShort text & <there>. Nice.\n\n## Second part\n\nMore words to read.\n"
REVIEW_B = "---\nid: tag:example.org,2024:review-b\ndate: 2024-03-01\n---\n# Review B\n\nAnother *short* one.\n"
REVIEW_C = "Review C\n\nThe third review, added later.\n"


def build(source: Path, output: Path, cache: Path, *options: str) -> str:
    """Build the folder quietly but for the summaries; returns stderr."""
    return run_cli("build", str(source), "-o", str(output), "--cache-dir", str(cache), "-v", *options).stderr


@pytest.fixture(scope="module")
def show(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(source, output, cache): two reviews and a reviewpub.toml, built once."""
    root = tmp_path_factory.mktemp("show")
    source, output, cache = root / "source", root / "output", root / "cache"
    source.mkdir()
    (source / "a.md").write_text(REVIEW_A, encoding="utf-8")
    (source / "b.md").write_text(REVIEW_B, encoding="utf-8")
    (source / "reviewpub.toml").write_text(CONFIG, encoding="utf-8")
    build(source, output, cache)
    return source, output, cache


@pytest.fixture
def copy(show: tuple[Path, Path, Path], tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of the built show, for tests that change it."""
    source, output, cache = show
    shutil.copytree(source, tmp_path / "source")
    shutil.copytree(output, tmp_path / "output")
    return tmp_path / "source", tmp_path / "output", cache


def local(output: Path, url: str, base: str = DEFAULT_BASE) -> Path:
    assert url.startswith(base), url
    return output / url[len(base) :]


def items(feed: bytes) -> dict[str, bytes]:
    """guid → the item's bytes as written."""
    found = re.findall(rb"<item>.*?</item>", feed, re.DOTALL)
    return {re.search(rb"<guid[^>]*>(.*?)</guid>", item).group(1).decode(): item for item in found}  # type: ignore[union-attr]


def digests(output: Path, names: tuple[str, ...]) -> dict[str, str]:
    """SHA-256 of every file of these reviews (their folders, EPUBs and manifests)."""
    files = [path for name in names for path in (output / name).rglob("*") if path.is_file()]
    files += [output / f"{name}.epub" for name in names] + [output / f".{name}.manifest.json" for name in names]
    return {str(path.relative_to(output)): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def test_feedparser_sees_one_episode_per_review_newest_first(show: tuple[Path, Path, Path]) -> None:
    _, output, _ = show
    parsed = feedparser.parse((output / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Weekly Reviews" and parsed.feed.author_detail.email == "ada@example.org"
    assert [tag.term for tag in parsed.feed.tags] == ["Arts", "Books"]
    assert [entry.title for entry in parsed.entries] == ["Review B", "Review A"]  # 2024-03-01, then 2023-11-14
    b, a = parsed.entries
    assert b.id == "tag:example.org,2024:review-b" and a.id.startswith("urn:uuid:")
    assert b.published.startswith("Fri, 01 Mar 2024")
    for entry, name in ((a, "a"), (b, "b")):
        (enclosure,) = entry.enclosures
        assert enclosure.href == f"{DEFAULT_BASE}{name}/{name}.mp3" and enclosure.type == "audio/mpeg"
        assert int(enclosure.length) == (output / name / f"{name}.mp3").stat().st_size
        assert local(output, entry.image.href).is_file()
    assert "Short text &amp; &lt;there&gt;. Nice." in a.summary  # the text shown as written, not as markup
    assert (output / "cover.jpg").read_bytes()[:2] == b"\xff\xd8"


def test_podcastparser_and_lxml_find_chapters_and_transcripts(show: tuple[Path, Path, Path]) -> None:
    _, output, _ = show
    feed = (output / "feed.xml").read_bytes()
    parsed = podcastparser.parse(f"{DEFAULT_BASE}feed.xml", io.BytesIO(feed))
    assert parsed["title"] == "Weekly Reviews" and len(parsed["episodes"]) == 2
    for episode in parsed["episodes"]:
        (enclosure,) = episode["enclosures"]
        assert enclosure["file_size"] == local(output, enclosure["url"]).stat().st_size
        assert episode["total_time"] > 0
    # podcastparser knows podcast:* only under the namespace's old address: read it with lxml.
    for item in etree.fromstring(feed).iter("item"):
        duration = item.findtext("{http://www.itunes.com/dtds/podcast-1.0.dtd}duration")
        (chapters,) = item.findall(f"{{{PODCAST}}}chapters")
        spans = json.loads(local(output, chapters.get("url")).read_bytes())["chapters"]
        assert spans and chapters.get("type") == "application/json+chapters"
        transcripts = {element.get("type"): element for element in item.findall(f"{{{PODCAST}}}transcript")}
        assert set(transcripts) == {"text/vtt", "text/plain"} and transcripts["text/vtt"].get("rel") == "captions"
        cues = webvtt.read(str(local(output, transcripts["text/vtt"].get("url"))))
        text = local(output, transcripts["text/plain"].get("url")).read_text(encoding="utf-8")
        assert cues and all(html.unescape(cue.text) in text for cue in cues)
        hours, minutes, seconds = map(int, duration.split(":"))
        assert milliseconds(cues[-1].end) <= round(spans[-1]["endTime"] * 1000)
        assert hours * 3600 + minutes * 60 + seconds == round(spans[-1]["endTime"])
    # Review A has two chapters: the whole-review captions shift the second by where it starts.
    whole = {cue.text: milliseconds(cue.start) for cue in webvtt.read(str(output / "a" / "transcript.vtt"))}
    second_ms = round(json.loads((output / "a" / "chapters.json").read_bytes())["chapters"][1]["startTime"] * 1000)
    own = webvtt.read(str(output / "a" / "captions" / "02-second-part.vtt"))
    assert [whole[cue.text] for cue in own] == [second_ms + milliseconds(cue.start) for cue in own]


def milliseconds(timestamp: str) -> int:
    hours, minutes, seconds = timestamp.split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)


def test_adding_a_review_keeps_the_others_byte_identical(copy: tuple[Path, Path, Path]) -> None:
    source, output, cache = copy
    before_feed, before = (output / "feed.xml").read_bytes(), digests(output, ("a", "b"))
    (source / "c.txt").write_text(REVIEW_C, encoding="utf-8")
    log = build(source, output, cache)
    assert digests(output, ("a", "b")) == before
    # Only c was narrated and encoded; a and b came from the cache and their MP3s were kept.
    assert len(re.findall(r", 0 from the cache", log)) == 1 and "2 of 2 sentences synthesised" in log, log
    assert "0 of 2 chapter MP3s to encode, 0 to retag" in log and "0 of 1 chapter MP3s to encode, 0 to retag" in log
    old, new = items(before_feed), items((output / "feed.xml").read_bytes())
    assert len(new) == 3 and all(new[guid] == item for guid, item in old.items())


def test_a_rebuild_keeps_each_first_built_date(copy: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    source, output, cache = copy
    (source / "c.txt").write_text(REVIEW_C, encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")  # a later day: c is first built then, a keeps its day
    build(source, output, cache)
    entries = feedparser.parse((output / "feed.xml").read_bytes()).entries
    assert [(entry.title, entry.published[:16]) for entry in entries] == [
        ("Review C", "Fri, 15 Jan 2027"),
        ("Review B", "Fri, 01 Mar 2024"),
        ("Review A", "Tue, 14 Nov 2023"),
    ]


def test_removing_a_review_removes_its_episode_and_only_its_files(copy: tuple[Path, Path, Path]) -> None:
    source, output, cache = copy
    (output / "a" / "my-notes.txt").write_text("mine", encoding="utf-8")
    (source / "a.md").unlink()
    build(source, output, cache)
    parsed = feedparser.parse((output / "feed.xml").read_bytes())
    assert [entry.title for entry in parsed.entries] == ["Review B"]
    assert not (output / "a.epub").exists() and not (output / ".a.manifest.json").exists()
    assert [path.name for path in (output / "a").rglob("*")] == ["my-notes.txt"]
    assert (output / "b" / "b.mp3").is_file() and "a" not in json.loads((output / ".show.json").read_bytes())[
        "episodes"
    ]


def test_command_line_wins_over_reviewpub_toml(copy: tuple[Path, Path, Path]) -> None:
    source, output, cache = copy
    base = "https://example.org/show/"
    build(source, output, cache, "--base-url", base, "--category", "Technology", "--explicit")
    channel = etree.fromstring((output / "feed.xml").read_bytes()).find("channel")
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
    assert channel.find(f"{itunes}category").get("text") == "Technology"
    assert channel.findtext(f"{itunes}explicit") == "true" and channel.findtext("title") == "Weekly Reviews"
    assert channel.find("item/enclosure").get("url") in (f"{base}a/a.mp3", f"{base}b/b.mp3")
    # Each review's own feed lives in its folder of the show's address.
    review = feedparser.parse((output / "a" / "feed.xml").read_bytes())
    assert all(entry.enclosures[0].href.startswith(f"{base}a/") for entry in review.entries)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('title = "x"\ncolour = "red"\n', "unknown key 'colour'"),
        ('category = "Film"\n', "category 'Film' is not an Apple Podcasts category"),
        ('explicit = "yes"\n', "explicit must be true or false"),
        ('base_url = "ftp://example.org/"\n', "base_url ftp://example.org/: give the absolute http(s) address"),
        ('owner_email = "nobody"\n', "owner_email 'nobody' is not an e-mail address"),
        ('language = "english!"\n', "language 'english!' is not a BCP 47 tag"),
        ('cover = "missing.png"\n', "cover 'missing.png' is not a file"),
        ("title = \n", "not valid TOML"),
    ],
)
def test_a_bad_reviewpub_toml_is_one_line_and_nothing_is_written(tmp_path: Path, config: str, message: str) -> None:
    source, output = tmp_path / "source", tmp_path / "output"
    source.mkdir()
    (source / "a.txt").write_text(REVIEW_C, encoding="utf-8")
    (source / "reviewpub.toml").write_text(config, encoding="utf-8")
    result = run_cli("build", str(source), "-o", str(output), expect=ExitStatus.ERROR)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "reviewpub.toml" in lines[0], result.stderr
    assert not output.exists()


@pytest.fixture
def served(show: tuple[Path, Path, Path]) -> Iterator[tuple[Path, int]]:
    _, output, _ = show
    server = make_server(output, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield output, server.server_address[1]
    server.shutdown()
    server.server_close()


def fetch(port: int, path: str, host: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_serve_answers_the_show_feed_with_urls_for_the_request(served: tuple[Path, int]) -> None:
    output, port = served
    status, body = fetch(port, "/feed.xml", "podcasts.local:9000")
    assert status == 200 and DEFAULT_BASE.encode() not in body
    parsed = feedparser.parse(body)
    assert [entry.enclosures[0].href for entry in parsed.entries] == [
        "http://podcasts.local:9000/b/b.mp3",
        "http://podcasts.local:9000/a/a.mp3",
    ]
    # A review's own feed, served from the show's folder, points into its folder.
    status, body = fetch(port, "/a/feed.xml", "podcasts.local:9000")
    assert status == 200
    assert all(
        entry.enclosures[0].href.startswith("http://podcasts.local:9000/a/") for entry in feedparser.parse(body).entries
    )
    status, body = fetch(port, "/a/a.mp3", "podcasts.local:9000")
    assert status == 200 and body == (output / "a" / "a.mp3").read_bytes()
    assert fetch(port, "/.show.json", "podcasts.local:9000")[0] == 404


def test_a_tampered_ledger_never_leads_a_removal_outside_the_output(copy: tuple[Path, Path, Path]) -> None:
    source, output, cache = copy
    victim = output.parent / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine", encoding="utf-8")
    ledger = json.loads((output / ".show.json").read_bytes())
    for name in ("", "..", "../victim", "/etc", ".a"):
        ledger["episodes"][name] = {"first_built": "2020-01-01T00:00:00+00:00"}
    (output / ".show.json").write_text(json.dumps(ledger), encoding="utf-8")
    assert set(read_ledger(output)) == {"a", "b"}
    build(source, output, cache)
    assert (victim / "keep.txt").is_file() and (output / "a" / "a.mp3").is_file()
    assert set(json.loads((output / ".show.json").read_bytes())["episodes"]) == {"a", "b"}
