"""`reviewpub build` end to end on the seed: every output checked as its consumer would."""

from __future__ import annotations

import http.client
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from reviewpub.ffmpeg import run_ffmpeg_analysis
from reviewpub.narration.pcm import decode_pcm
from reviewpub.narration.wav import measure_loudness
from reviewpub.serve import make_server
from tests.helpers.cli import run_cli
from tests.helpers.paths import SEED
from tests.helpers.validation import assert_valid_epubs

NS = {"opf": "http://www.idpf.org/2007/opf", "smil": "http://www.w3.org/ns/SMIL"}
LISTING = [
    "iss-review.epub",
    "iss-review/iss-review.read-aloud.epub",
    "iss-review/audio/01-introduction.mp3",
    "iss-review/audio/08-frequently-asked-questions.mp3",
    "iss-review/iss-review.m3u8",
    "iss-review/iss-review.m4b",
    "iss-review/iss-review.mp3",
    "iss-review/captions/01-introduction.vtt",
    "iss-review/captions/01-introduction.srt",
    "iss-review/chapters.json",
    "iss-review/feed.xml",
    "iss-review/cover.jpg",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed built once into a fresh output folder (and validated by EPUBCheck)."""
    output = tmp_path_factory.mktemp("build") / "output"
    cache = output.parent / "cache"
    result = run_cli("build", str(SEED), "-o", str(output), "--cache-dir", str(cache), "--jobs", "2")
    assert "40 of 40 sentences synthesised" in result.stderr
    assert_valid_epubs([output / "iss-review.epub", output / "iss-review" / "iss-review.read-aloud.epub"])
    return output


def seconds(clock: str) -> float:
    hours, minutes, rest = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def test_every_listed_output_exists(built: Path) -> None:
    for name in LISTING:
        assert (built / name).is_file() and (built / name).stat().st_size > 0, name
    assert len(list((built / "iss-review" / "captions").glob("*.vtt"))) == 8


def test_second_build_synthesises_nothing(built: Path) -> None:
    result = run_cli("build", str(SEED), "-o", str(built), "--cache-dir", str(built.parent / "cache"))
    assert "0 of 40 sentences synthesised, 40 from the cache" in result.stderr


def test_read_aloud_overlays_match_the_embedded_audio(built: Path) -> None:
    epub = built / "iss-review" / "iss-review.read-aloud.epub"
    with zipfile.ZipFile(epub) as archive:
        opf = etree.fromstring(archive.read("EPUB/content.opf"))
        overlays = [item for item in opf.findall(".//opf:item", NS) if item.get("media-type") == "application/smil+xml"]
        assert len(overlays) == 8
        chapters = [item for item in opf.findall(".//opf:item", NS) if item.get("media-overlay")]
        assert len(chapters) == 8
        properties = {
            meta.get("property"): meta.text
            for meta in opf.findall(".//opf:meta[@property]", NS)
            if not meta.get("refines")
        }
        assert properties["media:active-class"] == "-epub-media-overlay-active"
        assert properties["media:narrator"] == "espeak (en-us)"
        total = 0.0
        for overlay in overlays:
            smil = etree.fromstring(archive.read("EPUB/" + overlay.get("href")))
            pars = smil.findall(".//smil:par", NS)
            audio_name = pars[0].find("smil:audio", NS).get("src").removeprefix("../")
            extracted = built.parent / Path(audio_name).name
            extracted.write_bytes(archive.read("EPUB/" + audio_name))
            duration = len(decode_pcm(extracted, 44100)) / 2 / 44100
            previous = 0.0
            for par in pars:
                audio = par.find("smil:audio", NS)
                begin, end = seconds(audio.get("clipBegin")), seconds(audio.get("clipEnd"))
                assert previous <= begin < end <= duration + 0.001
                previous = end
                text = par.find("smil:text", NS).get("src")
                page, fragment = text.removeprefix("../").split("#")
                assert f'id="{fragment}"' in archive.read("EPUB/" + page).decode()
            assert abs(duration - previous) < 0.6, "only the tail pause follows the last clip"
            refined = opf.find(f".//opf:meta[@refines='#{overlay.get('id')}']", NS)
            assert abs(seconds(refined.text) - duration) < 0.05
            total += seconds(refined.text)
        assert abs(seconds(properties["media:duration"]) - total) < 0.01
        css = archive.read("EPUB/style.css").decode()
        assert ".-epub-media-overlay-active" in css
        assert "synchronizedAudioText" in archive.read("EPUB/content.opf").decode()


def test_m4b_has_chapters_cover_and_aac(built: Path) -> None:
    from mutagen.mp4 import MP4

    m4b = built / "iss-review" / "iss-review.m4b"
    report = run_ffmpeg_analysis(["-i", m4b, "-f", "null", "-"], what="m4b").split("Output #0")[0]
    assert "Audio: aac" in report
    starts = [float(value) for value in re.findall(r"Chapter #0:\d+: start (\d+\.\d+)", report)]
    titles = re.findall(r"Chapter #0:\d+: start .*\n\s+Metadata:\n\s+title\s+: (.*)", report)
    chapters = json.loads((built / "iss-review" / "chapters.json").read_text())["chapters"]
    assert titles == [chapter["title"] for chapter in chapters]
    assert len(starts) == len(chapters)
    assert all(abs(start - chapter["startTime"]) < 0.01 for start, chapter in zip(starts, chapters))
    tags = MP4(m4b).tags
    assert tags["\xa9nam"] == ["I.S.S. Movie Review: A Tense and Gripping Thriller Set in Space"]
    assert tags["covr"][0][:3] == b"\xff\xd8\xff"
    duration = MP4(m4b).info.length
    assert abs(duration - chapters[-1]["endTime"]) < 0.1


def test_book_mp3_has_chap_and_ctoc_frames(built: Path) -> None:
    from mutagen.id3 import ID3

    tags = ID3(built / "iss-review" / "iss-review.mp3")
    toc = tags.getall("CTOC")[0]
    chaps = {frame.element_id: frame for frame in tags.getall("CHAP")}
    chapters = json.loads((built / "iss-review" / "chapters.json").read_text())["chapters"]
    assert list(toc.child_element_ids) == [f"chp{number}" for number in range(1, 9)]
    for number, chapter in enumerate(chapters, start=1):
        frame = chaps[f"chp{number}"]
        assert frame.sub_frames["TIT2"].text == [chapter["title"]]
        assert abs(frame.start_time - chapter["startTime"] * 1000) <= 1
        assert abs(frame.end_time - chapter["endTime"] * 1000) <= 1
    assert tags["TCON"].text == ["Speech"] and tags.getall("APIC")


def test_whole_book_keeps_the_chapter_loudness(built: Path) -> None:
    book = measure_loudness(built / "iss-review" / "iss-review.mp3")
    chapter = measure_loudness(built / "iss-review" / "audio" / "02-the-plot-peril-and-intrigue-in-space.mp3")
    assert abs(book.integrated_lufs - chapter.integrated_lufs) < 1.0
    assert abs(book.integrated_lufs - (-19)) <= 1.0


def test_captions_parse_and_follow_the_clips(built: Path) -> None:
    import webvtt

    for vtt in sorted((built / "iss-review" / "captions").glob("*.vtt")):
        captions = webvtt.read(str(vtt))
        assert len(captions) >= 2
        previous = 0.0
        for caption in captions:
            # start_in_seconds is whole seconds in webvtt-py 0.5+: read the millisecond strings.
            start, end = seconds(caption.start), seconds(caption.end)
            assert previous <= start < end, caption
            previous = end
        srt = vtt.with_suffix(".srt").read_text(encoding="utf-8")
        assert srt.count(" --> ") == len(captions)
    first = webvtt.read(str(built / "iss-review" / "captions" / "02-the-plot-peril-and-intrigue-in-space.vtt"))
    assert (
        first[1].text == "“I.S.S.” unfolds within the confined and isolated setting of the International Space Station."
    )


def test_feed_is_read_by_feedparser_and_podcastparser(built: Path) -> None:
    import feedparser
    import podcastparser

    folder = built / "iss-review"
    feed_bytes = (folder / "feed.xml").read_bytes()
    parsed = feedparser.parse(feed_bytes)
    assert not parsed.bozo
    assert parsed.feed.title.startswith("I.S.S. Movie Review")
    assert parsed.feed.itunes_type == "serial" and parsed.feed.tags[0].term == "TV & Film"
    assert len(parsed.entries) == 9
    for entry in parsed.entries:
        enclosure = entry.enclosures[0]
        relative = enclosure.href.removeprefix("http://127.0.0.1:8000/")
        assert int(enclosure.length) == (folder / relative).stat().st_size
    gpodder = podcastparser.parse("http://127.0.0.1:8000/feed.xml", __import__("io").BytesIO(feed_bytes))
    assert len(gpodder["episodes"]) == 9
    assert all(episode["enclosures"][0]["mime_type"] == "audio/mpeg" for episode in gpodder["episodes"])
    text = feed_bytes.decode()
    assert 'type="text/vtt"' in text and 'type="application/json+chapters"' in text
    assert "<itunes:episode>8</itunes:episode>" in text


def test_base_url_makes_absolute_enclosures(built: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    run_cli(
        "build",
        str(SEED),
        "-o",
        str(output),
        "--cache-dir",
        str(built.parent / "cache"),
        "--base-url",
        "https://example.org/reviews/iss-review/",
        "--category",
        "Arts",
        "--category",
        "Books",
    )
    text = (output / "iss-review" / "feed.xml").read_text()
    assert 'url="https://example.org/reviews/iss-review/audio/01-introduction.mp3"' in text
    assert '<itunes:category text="Arts">' in text and '<itunes:category text="Books"' in text


@pytest.fixture
def server(built: Path) -> Iterator[tuple[str, int]]:
    """reviewpub serve on 127.0.0.1 with a free port, in a thread."""
    folder = built / "iss-review"
    outside = built.parent / "secret.txt"
    outside.write_text("not for you")
    link = folder / "escape.txt"
    if not link.exists():
        link.symlink_to(outside)
    instance = make_server(folder, host="127.0.0.1", port=0)
    thread = threading.Thread(target=instance.serve_forever, daemon=True)
    thread.start()
    yield instance.server_address[:2]
    instance.shutdown()
    instance.server_close()
    link.unlink()


def fetch(
    address: tuple[str, int], path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, dict(response.getheaders())


def test_serve_rewrites_the_feed_and_every_enclosure_downloads_intact(built: Path, server: tuple[str, int]) -> None:
    import feedparser

    status, body, headers = fetch(server, "/feed.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    origin = f"http://{server[0]}:{server[1]}/"
    parsed = feedparser.parse(body)
    for entry in parsed.entries:
        url = entry.enclosures[0].href
        assert url.startswith(origin)
        status, data, headers = fetch(server, "/" + url.removeprefix(origin))
        assert status == 200 and headers["Content-Type"] == "audio/mpeg"
        assert data == (built / "iss-review" / url.removeprefix(origin)).read_bytes()


def test_serve_refuses_everything_outside_its_folder(server: tuple[str, int]) -> None:
    for path in (
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/audio/%2E%2E/%2e%2e/secret.txt",
        "/escape.txt",
        "/..%2fsecret.txt",
        "/nope.mp3",
        "/%00",
    ):
        assert fetch(server, path)[0] == 404, path
    connection = http.client.HTTPConnection(*server, timeout=10)
    connection.request("POST", "/feed.xml", body=b"x")
    assert connection.getresponse().status == 501


def test_serve_answers_range_requests(built: Path, server: tuple[str, int]) -> None:
    whole = (built / "iss-review" / "audio" / "01-introduction.mp3").read_bytes()
    status, body, headers = fetch(server, "/audio/01-introduction.mp3", {"Range": "bytes=100-199"})
    assert status == 206 and body == whole[100:200]
    assert headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert fetch(server, "/audio/01-introduction.mp3", {"Range": "bytes=-10"})[1] == whole[-10:]


def test_build_a_folder_of_reviews(tmp_path: Path, built: Path) -> None:
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "a.txt").write_text("Review A\n\nShort text here. Nice.\n")
    (folder / "b.md").write_text("# Review B\n\nAnother *short* one.\n")
    (folder / "notes.pdf").write_bytes(b"%PDF")
    output = tmp_path / "out"
    run_cli("build", str(folder), "-o", str(output), "--cache-dir", str(tmp_path / "cache"), "-q")
    assert (output / "a.epub").is_file() and (output / "b" / "b.read-aloud.epub").is_file()
    assert not (output / "notes").exists()
