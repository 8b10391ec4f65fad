"""The podcast feed, read by feedparser and by gPodder's podcastparser as podcast apps would."""

from __future__ import annotations

import dataclasses
import email.utils
import io
import shutil
import uuid
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree

from reviewpub.errors import SettingsError, WriterError
from reviewpub.podcast import podcast_category
from reviewpub.writers.feed import write_feed
from tests.helpers.narration_factory import IDENTIFIER, Book, make_book, publish_folder

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
}
BASE = "https://example.org/reviews/iss-review/"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    return make_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def folder(book: Book, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_folder(book, tmp_path_factory.mktemp("output") / "iss-review")


def feed_with(book: Book, folder: Path, path: Path, **options: object) -> bytes:
    arguments: dict[str, object] = {"base_url": None, "category": None, **options}
    return write_feed(book.document, book.narration, folder, path, **arguments).read_bytes()  # type: ignore[arg-type]


def test_feedparser_finds_every_episode_with_its_enclosure(book: Book, folder: Path) -> None:
    parsed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    titles = [chapter.title for chapter in book.narration.chapters] + ["Orbit & Beyond: <The ISS> Review (complete)"]
    assert [entry.title for entry in parsed.entries] == titles
    files = [f"audio/{chapter.file_stem}.mp3" for chapter in book.narration.chapters] + ["iss-review.mp3"]
    for entry, name in zip(parsed.entries, files):
        (enclosure,) = entry.enclosures
        assert enclosure.href == f"http://127.0.0.1:8000/{name}"
        assert int(enclosure.length) == (folder / name).stat().st_size
        assert enclosure.type == "audio/mpeg"
    feed = parsed.feed
    assert feed.title == "Orbit & Beyond: <The ISS> Review" and feed.language == "en-GB"
    assert feed.image.href == "http://127.0.0.1:8000/cover.jpg"
    assert [tag.term for tag in feed.tags] == ["TV & Film", "Film Reviews"]
    assert feed.itunes_type == "serial"


def test_podcastparser_finds_every_episode_with_its_enclosure(book: Book, folder: Path) -> None:
    parsed = podcastparser.parse("http://127.0.0.1:8000/feed.xml", io.BytesIO((folder / "feed.xml").read_bytes()))
    assert parsed["title"] == "Orbit & Beyond: <The ISS> Review"
    assert parsed["itunes_author"] == 'Ada "Lovelace" Byron' and parsed["type"] == "serial"
    assert parsed["itunes_categories"] == [["TV & Film", "Film Reviews"]] and parsed["explicit"] is False
    assert parsed["cover_url"] == "http://127.0.0.1:8000/cover.jpg"
    episodes = {episode["guid"]: episode for episode in parsed["episodes"]}
    assert len(episodes) == len(book.narration.chapters) + 1
    for chapter in book.narration.chapters:
        episode = episodes[f"{IDENTIFIER}#{chapter.chapter_id}"]
        assert episode["title"] == chapter.title and episode["number"] == chapter.number
        assert episode["type"] == "full" and episode["total_time"] == round(chapter.duration_s)
        (enclosure,) = episode["enclosures"]
        name = f"audio/{chapter.file_stem}.mp3"
        assert enclosure == {
            "url": f"http://127.0.0.1:8000/{name}",
            "file_size": (folder / name).stat().st_size,
            "mime_type": "audio/mpeg",
        }
    introduction = episodes[f"{IDENTIFIER}#introduction"]
    # The description is HTML: the sentence's "<for now>" is text, not a tag to drop.
    assert introduction["description"] == 'The ISS is a laboratory & a home <for now>. Its crew says: "Look --> up!" 🚀'
    whole = episodes[f"{IDENTIFIER}#complete"]
    assert whole["enclosures"][0]["file_size"] == (folder / "iss-review.mp3").stat().st_size
    assert whole["type"] == "bonus"


def test_items_link_transcripts_and_chapters_in_the_current_podcast_namespace(book: Book, folder: Path) -> None:
    root = etree.fromstring((folder / "feed.xml").read_bytes())
    items = root.findall("channel/item")
    for item, chapter in zip(items, book.narration.chapters):
        vtt, srt = item.findall("podcast:transcript", NS)
        assert vtt.attrib == {
            "url": f"http://127.0.0.1:8000/captions/{chapter.file_stem}.vtt",
            "type": "text/vtt",
            "language": "en-GB",
            "rel": "captions",
        }
        assert (
            srt.get("type") == "application/x-subrip" and (folder / "captions" / f"{chapter.file_stem}.srt").is_file()
        )
        assert item.findtext("itunes:episode", namespaces=NS) == str(chapter.number)
        assert item.findtext("itunes:episodeType", namespaces=NS) == "full"
        assert item.find("guid").get("isPermaLink") == "false"
    (chapters,) = items[-1].findall("podcast:chapters", NS)
    assert chapters.attrib == {"url": "http://127.0.0.1:8000/chapters.json", "type": "application/json+chapters"}
    assert root.findtext("channel/itunes:explicit", namespaces=NS) == "false"
    assert root.findtext("channel/podcast:locked", namespaces=NS) == "no"
    assert root.find("channel/itunes:image", NS).get("href") == "http://127.0.0.1:8000/cover.jpg"
    durations = [item.findtext("itunes:duration", namespaces=NS) for item in items]
    assert durations == ["00:00:04", "00:00:03", "00:00:04", "00:00:12"]


def test_dates_are_rfc2822_from_the_metadata_in_episode_order(folder: Path) -> None:
    root = etree.fromstring((folder / "feed.xml").read_bytes())
    dates = [email.utils.parsedate_to_datetime(item.findtext("pubDate")) for item in root.findall("channel/item")]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    assert dates[0].isoformat() == "2024-01-19T12:01:00+00:00"
    assert root.findtext("channel/lastBuildDate") == "Tue, 14 Nov 2023 22:13:20 +0000"


def test_same_inputs_give_the_same_bytes(book: Book, folder: Path, tmp_path: Path) -> None:
    assert feed_with(book, folder, tmp_path / "again.xml") == (folder / "feed.xml").read_bytes()


def test_base_url_makes_absolute_urls_and_a_podcast_guid(book: Book, folder: Path, tmp_path: Path) -> None:
    root = etree.fromstring(
        feed_with(
            book, folder, tmp_path / "feed.xml", base_url=BASE.rstrip("/"), category=("Arts", "Books"), explicit=True
        )
    )
    urls = [item.find("enclosure").get("url") for item in root.findall("channel/item")]
    assert urls[0] == f"{BASE}audio/01-introduction.mp3" and urls[-1] == f"{BASE}iss-review.mp3"
    assert root.find("channel/atom:link", NS).get("href") == f"{BASE}feed.xml"
    # podcast:guid is UUIDv5 over the feed URL without scheme and trailing slash.
    expected = uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "example.org/reviews/iss-review/feed.xml")
    assert root.findtext("channel/podcast:guid", namespaces=NS) == str(expected)
    (category,) = root.findall("channel/itunes:category", NS)
    assert category.get("text") == "Arts" and category.find("itunes:category", NS).get("text") == "Books"
    assert {element.text for element in root.iter(f"{{{NS['itunes']}}}explicit")} == {"true"}


def test_without_base_url_no_podcast_guid_is_claimed(folder: Path) -> None:
    root = etree.fromstring((folder / "feed.xml").read_bytes())
    assert root.find("channel/podcast:guid", NS) is None


@pytest.mark.parametrize("base_url", ["example.org/reviews", "ftp://example.org/x/", "https://", "https://e.org/?a=1"])
def test_a_base_url_that_is_not_an_http_address_is_refused(
    book: Book, folder: Path, tmp_path: Path, base_url: str
) -> None:
    with pytest.raises(SettingsError, match="--base-url"):
        feed_with(book, folder, tmp_path / "feed.xml", base_url=base_url)
    assert not (tmp_path / "feed.xml").exists()


def test_hostile_metadata_stays_well_formed_and_file_names_are_url_encoded(
    book: Book, folder: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "my review"
    shutil.copytree(folder, copy)
    (copy / "iss-review.mp3").rename(copy / "my review ü.mp3")
    metadata = book.document.metadata.replace(title="]]> <b>&amp;\x0b\x00 \ufffe done", author="<script>")
    document = dataclasses.replace(book.document, metadata=metadata, name="my review ü")
    data = write_feed(document, book.narration, copy, copy / "feed.xml", base_url=None, category=None).read_bytes()
    root = etree.fromstring(data)
    assert root.findtext("channel/title") == "]]> <b>&amp;  done", "only what XML cannot carry is dropped"
    assert root.findtext("channel/itunes:author", namespaces=NS) == "<script>"
    assert root.findall("channel/item/enclosure")[-1].get("url") == "http://127.0.0.1:8000/my%20review%20%C3%BC.mp3"
    assert not feedparser.parse(data).bozo


def test_a_missing_chapter_mp3_is_a_one_line_error(book: Book, folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "partial"
    shutil.copytree(folder, copy)
    (copy / "audio" / "02-the-verdict.mp3").unlink()
    with pytest.raises(WriterError, match=r"02-the-verdict\.mp3: missing") as raised:
        feed_with(book, copy, copy / "new-feed.xml")
    assert "\n" not in str(raised.value) and not (copy / "new-feed.xml").exists()


@pytest.mark.parametrize(
    ("given", "spelled"),
    [
        ((), ("TV & Film", "Film Reviews")),
        (("tv & film",), ("TV & Film",)),
        (("science", "ASTRONOMY"), ("Science", "Astronomy")),
        (("History",), ("History",)),
    ],
)
def test_categories_are_spelled_as_apple_lists_them(given: tuple[str, ...], spelled: tuple[str, ...]) -> None:
    assert podcast_category(given) == spelled


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (("Movies",), "'Movies' is not an Apple Podcasts category; choose one of: Arts, "),
        (("TV & Film", "Cooking"), "'Cooking' is not a subcategory of 'TV & Film'; it has: After Shows, "),
        (("History", "Wars"), "it has none, give it alone"),
        (("Arts", "Books", "Design"), "given 3 times"),
    ],
)
def test_a_category_apple_would_refuse_is_one_line(given: tuple[str, ...], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")) as raised:
        podcast_category(given)
    assert "\n" not in str(raised.value)


def test_the_feed_names_its_synthetic_narrator(book: Book, folder: Path) -> None:
    narrator = f"{book.narration.engine} ({book.narration.voice})"
    parsed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert parsed.feed.generator.endswith(f"narrated by {narrator}")
    root = etree.fromstring((folder / "feed.xml").read_bytes())
    texts = root.findall(".//{https://podcastindex.org/namespace/1.0}txt")
    assert [(text.get("purpose"), text.text) for text in texts] == [("narrator", narrator)]


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        (
            "https://user:s3cret@example.org/reviews/",
            "--base-url https://***@example.org/reviews/: holds a user name or "
            "password, which the public feed would publish in every link; give the address without them "
            "(https://example.org/reviews/)",
        ),
        ("https://token@example.org/x?a=1", "give the address without them (https://example.org/x)"),
        ("https://example.org@evil.example/", "give the address without them (https://evil.example/)"),
        ("https://e.org/x/?a=1", "has a query (?...), and every file's URL is this address plus the file's name"),
        ("https://e.org/x/#top", "has a fragment (#...)"),
        ("https://u:s3cret@[::1/", r"--base-url https://***@[::1/: not a valid address (Invalid IPv6 URL)"),
        ("https://u:s3cret@exa\u2100mple.org/", "not a valid address (netloc '***@exa\u2100mple.org' contains invalid"),
        ("https://e.org:99999/", "not a valid address (Port out of range 0-65535)"),
        ("https://e.org:http/", "not a valid address (Port could not be cast"),
        ("https://:80/", "give the absolute http(s) address"),
        ("https://exa mple.org/", "'exa mple.org' is not a valid host name"),
    ],
)
def test_a_base_url_that_would_publish_credentials_or_break_file_urls_is_one_line(base_url: str, message: str) -> None:
    from reviewpub.podcast import feed_base_url

    with pytest.raises(SettingsError) as raised:
        feed_base_url(base_url)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://example.org/reviews/iss-review", "https://example.org/reviews/iss-review/"),
        ("https://e.org/x?", "https://e.org/x/"),  # an empty query or fragment is no query or fragment
        ("https://e.org/x#", "https://e.org/x/"),
        ("https://e.org:/x", "https://e.org/x/"),
        ("http://[::1]:8000", "http://[::1]:8000/"),
        ("https://bücher.example/rezensionen/", "https://xn--bcher-kva.example/rezensionen/"),
        ("https://e.org/ü x/50%/", "https://e.org/%C3%BC%20x/50%25/"),
        ("https://e.org/a%2Fb/", "https://e.org/a%2Fb/"),
    ],
)
def test_a_base_url_gives_a_folder_address_file_names_can_follow(base_url: str, expected: str) -> None:
    from reviewpub.podcast import feed_base_url
    from reviewpub.writers.feed import file_url

    assert feed_base_url(base_url) == expected
    assert file_url(feed_base_url(base_url), "audio/01-intro.mp3") == expected + "audio/01-intro.mp3"


@pytest.mark.parametrize(
    "base_url", ["https://user:s3cret@example.org/reviews/", "https://e.org/x/?a=1", "https://[::1/"]
)
def test_build_refuses_such_a_base_url_before_writing_anything(tmp_path: Path, base_url: str) -> None:
    from reviewpub.errors import ExitStatus
    from tests.helpers.cli import run_cli

    review = tmp_path / "short.txt"
    review.write_text("A Short Review\n\nIntroduction\n\nThe film is good.\n", encoding="utf-8")
    output = tmp_path / "output"
    result = run_cli("build", str(review), "-o", str(output), "--base-url", base_url, expect=ExitStatus.ERROR)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --base-url ") and "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert not output.exists()
