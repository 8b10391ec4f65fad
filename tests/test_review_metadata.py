"""Review metadata (#11 item 5): what was reviewed, its schema.org type and the rating.

From front matter or a detected rating line, checked up front, into the outline, the EPUB
package (checked by EPUBCheck), the title page and the feeds (read by feedparser and gPodder's
podcastparser). The detector is held to never finding a rating in an ordinary sentence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import json
import re
import zipfile
from pathlib import Path

import feedparser
import podcastparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from reviewpub.document import Document, Metadata, Rating
from reviewpub.episodes import show_episodes
from reviewpub.errors import ExitStatus, SettingsError
from reviewpub.reading import read_document
from reviewpub.reading.metadata import check_metadata, resolve
from reviewpub.reading.ratings import read_rating_line
from reviewpub.show import ShowConfig, resolve_show
from reviewpub.writers.epub import write_epub
from reviewpub.writers.feed import write_feed
from reviewpub.writers.overlays import ReadAloud
from reviewpub.writers.show_feed import render_show_feed
from tests.helpers.cli import run_cli
from tests.helpers.narration_factory import Book, make_book, make_chapter_mp3s, publish_folder
from tests.helpers.validation import assert_valid_epubs

OPF = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
REVIEWED = dict(item="I.S.S. <the film>", item_type="Movie", rating=Rating(4, 5))
REVIEW_LINE = "Review of I.S.S. <the film> (Movie) — rated 4/5."


def source(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def markdown(front: str, body: str = "Body text of the review. It is tense.\n") -> str:
    return f"---\ntitle: The Review\n{front}\n---\n\n{body}"


# --- the rating line detector ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Rating: 4/5", Rating(4, 5)),
        ("Rating: 8.5/10", Rating(8.5, 10)),
        ("Score: 4 out of 5", Rating(4, 5)),
        ("Our verdict — 85/100 points.", Rating(85, 100)),
        ("**Rating:** 3/5", Rating(3, 5)),
        ("- Rating: 4/5", Rating(4, 5)),
        ("★★★★☆", Rating(4, 5)),
        ("★★★½☆", Rating(3.5, 5)),
        ("★ ★ ☆ ☆ ☆", Rating(2, 5)),
        ("Stars: ★★★★★★★☆☆☆", Rating(7, 10)),
        ("★★★★☆ (4/5)", Rating(4, 5)),
        ("4/5 stars", Rating(4, 5)),
        ("4 Out of 5 Stars", Rating(4, 5)),
        ("Rating: 0/5", Rating(0, 5)),
    ],
)
def test_whole_rating_lines_are_read_as_written(line: str, expected: Rating) -> None:
    assert read_rating_line(line) == (expected, "")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("★★★★★", "only filled stars"),
        ("☆☆☆", "no filled star"),
        ("★☆★", "filled, then at most one half"),
        ("Rating: 6/5", "above its scale"),
        ("Rating: 3/0", "scale must be above 0"),
        ("★★★★☆ (3/5)", "the stars say 4/5"),
    ],
)
def test_rating_shaped_lines_without_a_usable_value_give_none_and_say_why(line: str, problem: str) -> None:
    found = read_rating_line(line)
    assert found is not None and found[0] is None
    assert problem in found[1]


@pytest.mark.parametrize(
    "line",
    [
        "About 4/5 of the crew survive.",
        "4/5",
        "On 4/5 we went back.",
        "Rating: PG-13",
        "Rated R",
        "I give it 4 out of 5 stars.",
        "Rating: 4/5, a must-see",
        "Score: four out of five",
        "The 4/5 split works.",
        "Rating: 4",
        "Rating: 4 stars",
        "Verdict: worth it.",
        "3/4 cup of sugar",
        "★ Highlights",
        "Rating: 4/5 " + "x" * 80,
    ],
)
def test_sentences_and_other_labels_are_not_ratings(line: str) -> None:
    assert read_rating_line(line) is None


ORDINARY_WORDS = st.sampled_from(
    "the crew film about of and survive we it was a in on 4/5 3/4 10 out stars points score rating half".split()
)


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(ORDINARY_WORDS, min_size=1, max_size=6),
    after=st.lists(ORDINARY_WORDS, max_size=6),
    value=st.integers(0, 20),
    best=st.integers(1, 20),
)
def test_a_fraction_inside_a_sentence_is_never_a_rating(
    before: list[str], after: list[str], value: int, best: int
) -> None:
    # A word that is no label ("crew", "the", ...) before the fraction makes it a sentence.
    words = [word for word in before if word not in ("rating", "score", "stars", "points", "out", "half")]
    line = " ".join([*words, f"{value}/{best}", *after]) + "."
    if words:
        assert read_rating_line(line) is None, line


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_line_read_as_a_rating_is_within_its_scale(line: str) -> None:
    found = read_rating_line(line)
    if found is not None and found[0] is not None:
        rating = found[0]
        assert 0 <= rating.value <= rating.best and rating.best > 0
        assert any(character.isdigit() or character in "★½⯪⯨" for character in line)


# --- reading: plain text and Markdown --------------------------------------------------------------

PLAIN = """I.S.S. Review

Director: Gabriela Cowperthwaite
Rating: 4/5

The film is tense. About 4/5 of the crew survive the first act.

Verdict

Worth every minute.
"""


def test_a_rating_line_in_plain_text_is_detected_explained_and_stays_in_the_text(tmp_path: Path) -> None:
    document = read_document(source(tmp_path, "iss.txt", PLAIN))
    assert document.metadata.rating == Rating(4, 5)
    assert document.metadata.item is None
    sentences = [sentence.text for sentence in document.sentences()]
    assert any("Rating: 4/5" in text for text in sentences)  # a listener hears the rating
    (decision,) = [decision for decision in document.decisions if decision.verdict == "rating"]
    assert decision.line == 4 and "rated 4/5" in decision.rule


def test_outline_shows_the_rating_and_explains_its_line(tmp_path: Path) -> None:
    path = source(tmp_path, "iss.txt", PLAIN)
    text = run_cli("outline", str(path), "--explain").stdout
    assert "\nRated 4/5.\n" in text
    assert re.search(r"line 4: rating +'Rating: 4/5': a rating line", text), text
    data = json.loads(run_cli("outline", str(path), "--format", "json").stdout)
    assert data["rating"] == {"value": 4.0, "best": 5.0, "worst": 0.0}
    assert data["item"] is None and data["item_type"] is None


def test_a_title_case_rating_line_is_not_a_heading(tmp_path: Path) -> None:
    document = read_document(source(tmp_path, "r.txt", "Title\n\nSome text here.\n\n4 Out of 5 Stars\n\nMore text.\n"))
    assert [chapter.title for chapter in document.chapters] == ["Title"]
    assert document.metadata.rating == Rating(4, 5)


def test_rating_lines_that_disagree_give_no_rating(tmp_path: Path) -> None:
    document = read_document(source(tmp_path, "r.txt", "Title\n\nRating: 4/5\n\nText of it.\n\n★★☆☆☆\n"))
    assert document.metadata.rating is None
    rules = [decision.rule for decision in document.decisions if decision.verdict == "rating"]
    assert len(rules) == 2 and all("disagree (2/5, 4/5)" in rule for rule in rules)


def test_a_text_without_a_rating_has_none(tmp_path: Path) -> None:
    document = read_document(source(tmp_path, "r.txt", "Title\n\nWe give 4/5 of our time to it. Rated R.\n"))
    assert document.metadata.rating is None and document.metadata.review_line is None


def test_markdown_front_matter_sets_item_type_and_rating(tmp_path: Path) -> None:
    front = "item: The ISS\nitem_type: place\nrating: 8.5\nbest_rating: 10\nworst_rating: 1"
    metadata = read_document(source(tmp_path, "r.md", markdown(front))).metadata
    assert (metadata.item, metadata.item_type, metadata.rating) == ("The ISS", "Place", Rating(8.5, 10, 1))
    assert metadata.review_line == "Review of The ISS (Place) — rated 8.5/10."


def test_front_matter_rating_with_its_scale_written_in(tmp_path: Path) -> None:
    metadata = read_document(source(tmp_path, "r.md", markdown("rating: 3 out of 4"))).metadata
    assert metadata.rating == Rating(3, 4)


def test_markdown_rating_line_is_detected_but_front_matter_wins_whole(tmp_path: Path) -> None:
    body = "Text of the review.\n\n**Rating:** 8.5/10\n\n> Rating: 1/5 said a rival.\n"
    detected = read_document(source(tmp_path, "a.md", markdown("author: Ada", body)))
    assert detected.metadata.rating == Rating(8.5, 10)  # the quoted rating is someone else's
    (decision,) = [decision for decision in detected.decisions if decision.verdict == "rating"]
    assert decision.line == 8
    overridden = read_document(source(tmp_path, "b.md", markdown("rating: 4", body)))
    # The front matter's rating comes with its own (default) scale, never the detected line's 10.
    assert overridden.metadata.rating == Rating(4, 5)
    (decision,) = [decision for decision in overridden.decisions if decision.verdict == "rating"]
    assert "overridden by rating 4" in decision.rule


def test_plain_text_front_matter_sets_them_and_keeps_line_numbers(tmp_path: Path) -> None:
    text = "---\nitem: The ISS\nitem_type: Place\nrating: 3\n---\nThe ISS Review\n\nSome body text.\n\nRating: 4/5\n"
    document = read_document(source(tmp_path, "r.txt", text))
    metadata = document.metadata
    assert (metadata.title, metadata.item, metadata.item_type, metadata.rating) == (
        "The ISS Review",
        "The ISS",
        "Place",
        Rating(3, 5),
    )
    (decision,) = [decision for decision in document.decisions if decision.verdict == "rating"]
    assert decision.line == 10 and "overridden by rating 3" in decision.rule


def test_an_overlined_title_in_plain_text_is_not_front_matter(tmp_path: Path) -> None:
    document = read_document(source(tmp_path, "r.txt", "---\nTitle: Something Big\n---\n\nSome body text.\n"))
    assert document.metadata.title == "Title: Something Big"


def test_a_bad_value_in_plain_text_front_matter_is_one_line(tmp_path: Path) -> None:
    path = source(tmp_path, "r.txt", "---\nitem_type: Moive\nitem: X\n---\nTitle\n\nBody text.\n")
    output = tmp_path / "output"
    result = run_cli("epub", str(path), "-o", str(output), expect=ExitStatus.ERROR)
    assert result.stderr.count("\n") == 1 and "did you mean Movie?" in result.stderr
    assert not output.exists()


def test_item_without_type_is_allowed(tmp_path: Path) -> None:
    metadata = read_document(source(tmp_path, "r.md", markdown("item: The ISS"))).metadata
    assert (metadata.item, metadata.item_type, metadata.rating) == ("The ISS", None, None)
    assert metadata.review_line == "Review of The ISS."


def test_resolve_takes_the_rating_and_its_scale_from_one_layer() -> None:
    merged = resolve([{"rating": Rating(8.5, 10)}, {"rating": "4"}])
    assert check_metadata(merged, source=Path("r.md"))["rating"] == Rating(4, 5)
    merged = resolve([{"rating": "4"}, {"rating": "7", "best_rating": "10"}])
    assert check_metadata(merged, source=Path("r.md"))["rating"] == Rating(7, 10)


@pytest.mark.parametrize(
    ("front", "message"),
    [
        (
            "item: X\nitem_type: Moive",
            "item_type 'Moive' is not a schema.org type reviewpub knows; did you mean Movie?",
        ),
        ("item: X\nitem_type: film", "did you mean Movie?"),
        ("item: X\nitem_type: Gizmo", "give one of Book, Movie"),
        ("item_type: Movie", "item_type Movie needs item"),
        ("rating: abc", "rating 'abc' is not a number such as 4 or 8.5"),
        ("rating: 4,5", "write 4.5"),
        ("rating: .nan", "is not a number"),
        ("rating: 1e400", "is not a number"),
        ("rating: 8", "rating 8 is outside its scale, 0 to 5; add best_rating: 10"),
        ("rating: -1", "rating -1 is outside its scale, 0 to 5"),
        ("rating: 3\nbest_rating: 2\nworst_rating: 2", "best_rating 2 must be above worst_rating 2"),
        ("rating: 3\nbest_rating: 1e9", "best_rating '1e9' is beyond ±1000"),
        ("rating: 4/5\nbest_rating: 10", "disagree; give one scale"),
        ("best_rating: 10", "best_rating given in the front matter"),
        ("rating: [4, 5]", "rating '4, 5' is not a number"),
    ],
)
def test_a_bad_value_is_one_line_exit_1_and_nothing_written(tmp_path: Path, front: str, message: str) -> None:
    path = source(tmp_path, "r.md", markdown(front, "Body text.\n\nRating: 3/5\n"))
    output = tmp_path / "output"
    result = run_cli("epub", str(path), "-o", str(output), expect=ExitStatus.ERROR)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ") and str(path) in result.stderr
    assert message in result.stderr, result.stderr
    assert not output.exists()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        read_document(source(tmp_path, "r.md", markdown("language: English\nitem_type: Moive\nrating: 9")))
    message = str(raised.value)
    assert "language" in message and "item_type" in message and "rating 9" in message


# --- the EPUB --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    made = make_book(tmp_path_factory.mktemp("book"))
    return dataclasses.replace(made, document=rated(made.document))


def rated(document: Document, **metadata: object) -> Document:
    return dataclasses.replace(document, metadata=document.metadata.replace(**{**REVIEWED, **metadata}))


@pytest.fixture(scope="module")
def epubs(book: Book, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The plain and the read-aloud EPUB of a rated review, and one rated only, checked in one JVM."""
    folder = tmp_path_factory.mktemp("epubs")
    mp3s = make_chapter_mp3s(book.narration, folder)
    audio = {chapter.chapter_id: mp3 for chapter, mp3 in zip(book.narration.chapters, mp3s)}
    read_aloud = ReadAloud(narration=book.narration, chapter_audio=audio, narrator="handmade (sine)")
    only_rated = dataclasses.replace(book.document, metadata=book.document.metadata.replace(item=None, item_type=None))
    paths = {
        "plain": write_epub(book.document, folder / "plain.epub"),
        "read-aloud": write_epub(book.document, folder / "read-aloud.epub", read_aloud=read_aloud),
        "rating-only": write_epub(only_rated, folder / "rating-only.epub"),
    }
    checked = assert_valid_epubs(paths.values())
    assert not any(checked.values()), f"EPUBCheck has advice: {checked}"
    return paths


def package(epub: Path) -> etree._Element:
    with zipfile.ZipFile(epub) as archive:
        return etree.fromstring(archive.read("EPUB/content.opf"))


def properties(epub: Path) -> dict[str, list[tuple[str | None, str]]]:
    """``property`` → (refines, text) of every ``<meta>`` of the package."""
    found: dict[str, list[tuple[str | None, str]]] = {}
    for meta in package(epub).iterfind("opf:metadata/opf:meta[@property]", OPF):
        found.setdefault(meta.get("property"), []).append((meta.get("refines"), meta.text or ""))
    return found


@pytest.mark.parametrize("name", ["plain", "read-aloud"])
def test_both_epubs_carry_item_type_and_rating_in_the_package(epubs: dict[str, Path], name: str) -> None:
    found = properties(epubs[name])
    assert found["schema:itemReviewed"] == [(None, "I.S.S. <the film>")]
    assert found["schema:additionalType"] == [("#item-reviewed", "https://schema.org/Movie")]
    assert found["schema:reviewRating"] == [(None, "4")]
    assert found["schema:bestRating"] == [("#review-rating", "5")]
    assert found["schema:worstRating"] == [("#review-rating", "0")]
    subjects = [subject.text for subject in package(epubs[name]).iterfind("opf:metadata/dc:subject", OPF)]
    assert subjects == ["I.S.S. <the film>"]


def test_the_title_page_says_what_was_reviewed_and_the_rating(epubs: dict[str, Path]) -> None:
    with zipfile.ZipFile(epubs["plain"]) as archive:
        page = etree.fromstring(archive.read("EPUB/titlepage.xhtml"))
    texts = [element.text for element in page.iter("{http://www.w3.org/1999/xhtml}p")]
    assert REVIEW_LINE in texts


def test_a_rating_alone_gives_no_item_in_the_package(epubs: dict[str, Path]) -> None:
    found = properties(epubs["rating-only"])
    assert "schema:itemReviewed" not in found and found["schema:reviewRating"] == [(None, "4")]


def test_a_review_without_them_has_none_of_them(tmp_path: Path, book: Book) -> None:
    plain = dataclasses.replace(
        book.document, metadata=book.document.metadata.replace(item=None, item_type=None, rating=None)
    )
    found = properties(write_epub(plain, tmp_path / "plain.epub"))
    assert not any(
        name.startswith(("schema:item", "schema:review", "schema:best", "schema:worst", "schema:additional"))
        for name in found
    )


# --- the feeds -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(book: Book, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_folder(book, tmp_path_factory.mktemp("output") / "iss-review")


def test_the_review_feed_says_what_was_reviewed_in_channel_and_episodes(book: Book, folder: Path) -> None:
    feed = (folder / "feed.xml").read_bytes()
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.description.startswith(REVIEW_LINE)
    # An item's description is HTML (``<p>…</p>``), so the item's name arrives escaped.
    assert parsed.entries and all(
        entry.description.startswith(f"<p>{html.escape(REVIEW_LINE, quote=False)} ") for entry in parsed.entries
    )
    podcast = podcastparser.parse("http://127.0.0.1:8000/feed.xml", io.BytesIO(feed))
    assert podcast["description"].startswith(REVIEW_LINE)
    assert podcast["episodes"] and all(
        episode["description"].startswith(REVIEW_LINE) for episode in podcast["episodes"]
    )


def test_the_review_feed_of_an_unrated_review_says_nothing_of_it(book: Book, folder: Path, tmp_path: Path) -> None:
    plain = dataclasses.replace(
        book.document, metadata=book.document.metadata.replace(item=None, item_type=None, rating=None)
    )
    feed = write_feed(plain, book.narration, folder, tmp_path / "feed.xml", base_url=None, category=None).read_bytes()
    assert b"Review of I.S.S." not in feed and b"rated 4/5" not in feed


@pytest.fixture(scope="module")
def show_output(book: Book, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Document]]:
    """Two reviews published side by side, as a folder build leaves them."""
    output = tmp_path_factory.mktemp("show")
    documents = []
    for name, date in (("first", "2024-01-19"), ("second", "2024-02-02")):
        document = dataclasses.replace(
            book.document, name=name, metadata=book.document.metadata.replace(date=date, identifier=f"urn:uuid:{name}")
        )
        publish_folder(dataclasses.replace(book, document=document), output / name)
        documents.append(document)
    return output, documents


def show_feed(output: Path, documents: list[Document]) -> bytes:
    first_built = {document.name: dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc) for document in documents}
    show = resolve_show(ShowConfig(title="Reviews"), documents)
    return render_show_feed(show, show_episodes(documents, output, first_built))


def items(feed: bytes) -> list[bytes]:
    return re.findall(rb"<item>.*?</item>", feed, re.DOTALL)


def test_the_show_feed_item_says_what_was_reviewed_and_the_rating(show_output: tuple[Path, list[Document]]) -> None:
    output, documents = show_output
    unrated = dataclasses.replace(
        documents[1], metadata=documents[1].metadata.replace(item=None, item_type=None, rating=None)
    )
    feed = show_feed(output, [rated(documents[0], item="The ISS", item_type="Place"), unrated])
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")
    descriptions = [entry.description for entry in parsed.entries]
    # Newest first: "second" (no metadata) then "first" (rated).
    assert "Review of" not in descriptions[0] and "rated 4/5" not in descriptions[0]
    assert descriptions[1].startswith("<p>Review of The ISS (Place) — rated 4/5.")
    podcast = podcastparser.parse("http://127.0.0.1:8000/feed.xml", io.BytesIO(feed))
    assert [
        episode["description"].startswith("Review of The ISS (Place) — rated 4/5.") for episode in podcast["episodes"]
    ] == [False, True]


def test_rating_one_review_keeps_the_other_item_byte_identical(show_output: tuple[Path, list[Document]]) -> None:
    output, documents = show_output
    plain = [
        dataclasses.replace(document, metadata=document.metadata.replace(item=None, item_type=None, rating=None))
        for document in documents
    ]
    before = items(show_feed(output, plain))
    after = items(show_feed(output, [rated(plain[0], rating=Rating(3, 5)), plain[1]]))
    assert after[0] == before[0]  # "second", newest, untouched
    assert after[1] != before[1] and b"rated 3/5" in after[1]


def test_metadata_without_item_or_rating_has_no_review_line() -> None:
    assert Metadata(title="T").review_line is None
    assert Metadata(title="T", rating=Rating(8.5, 10)).review_line == "Rated 8.5/10."


# --- the command line and the episode id --------------------------------------------------------


def test_command_line_options_override_the_front_matter_and_the_rating_line(tmp_path: Path) -> None:
    path = source(tmp_path, "iss.txt", PLAIN)
    data = json.loads(
        run_cli(
            "outline",
            str(path),
            "--format",
            "json",
            "--item",
            "The ISS",
            "--item-type",
            "place",
            "--rating",
            "8.5",
            "--best-rating",
            "10",
        ).stdout
    )
    assert (data["item"], data["item_type"]) == ("The ISS", "Place")
    assert data["rating"] == {"value": 8.5, "best": 10.0, "worst": 0.0}


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (("--rating", "8"), "rating 8 is outside its scale, 0 to 5"),
        (("--rating", "four"), "rating"),
        (("--item", "X", "--item-type", "Moive"), "did you mean Movie?"),
        (
            (
                "--best-rating",
                "10",
            ),
            "best_rating",
        ),
    ],
)
def test_bad_command_line_review_metadata_is_one_line_and_writes_nothing(
    tmp_path: Path, arguments: tuple[str, ...], problem: str
) -> None:
    path = source(tmp_path, "plain.txt", "A Plain Review\n\nIt was fine. Nothing more to say.\n")
    output = tmp_path / "out"
    result = run_cli("epub", str(path), "--output", str(output), *arguments, expect=ExitStatus.ERROR)
    assert problem in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not output.exists()


def test_plain_text_front_matter_id_is_the_episode_guid(tmp_path: Path) -> None:
    from reviewpub.episodes import episode_guid

    path = source(tmp_path, "iss.txt", "---\nid: tag:example.org,2026:iss\n---\nA Night Aboard\n\nIt was great.\n")
    assert episode_guid(read_document(path)) == "tag:example.org,2026:iss"
