"""read_document(): metadata layers, identifiers, names, slugs, bad input, clean text, speed."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewpub.document import ChapterRole
from reviewpub.errors import SettingsError, SourceError
from reviewpub.reading import read_document
from reviewpub.reading.metadata import resolve
from reviewpub.reading.metadata_rules import is_iso_date, is_language_tag
from reviewpub.reading.slugs import IdMaker, document_name, slugify
from tests.helpers.documents import check_model_promises

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 32


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


MARKDOWN = "---\ntitle: Front Title\nauthor: Front Author\nlang: fr\n---\n\n# Heading Title\n\nDu texte.\n"


@pytest.mark.parametrize(
    ("name", "text", "overrides", "expected"),
    [
        ("a.txt", "Text Title\n\nBody.\n", None, {"title": "Text Title", "language": "en", "author": None}),
        (
            "a.txt",
            "Text Title\n\nBody.\n",
            {"title": "CLI Title", "author": None},
            {"title": "CLI Title", "author": None},
        ),
        ("a.md", "Just text.\n", None, {"title": "A", "language": "en"}),
        ("a.md", "# Heading Title\n\nText.\n", None, {"title": "Heading Title"}),
        ("a.md", MARKDOWN, None, {"title": "Front Title", "author": "Front Author", "language": "fr"}),
        (
            "a.md",
            MARKDOWN,
            {"title": "CLI Title", "language": "de-AT", "author": None},
            {"title": "CLI Title", "author": "Front Author", "language": "de-AT"},
        ),
        ("a.md", MARKDOWN, {"title": "   ", "author": "Zoë"}, {"title": "Front Title", "author": "Zoë"}),
        (
            "a.txt",
            "Text Title\n\nBody.\n",
            {"subtitle": "Sub", "date": "2024-01-19", "publisher": "P", "rights": "R", "description": "D"},
            {"subtitle": "Sub", "date": "2024-01-19", "publisher": "P", "rights": "R", "description": "D"},
        ),
    ],
    ids=[
        "text implies",
        "CLI wins, None is not given",
        "file name is the default title",
        "H1 implies the title",
        "front matter beats the text",
        "CLI beats front matter",
        "blank CLI value is not given",
        "every field",
    ],
)
def test_metadata_precedence(
    tmp_path: Path, name: str, text: str, overrides: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    metadata = read_document(write(tmp_path, name, text), overrides).metadata
    assert {key: getattr(metadata, key) for key in expected} == expected


def test_resolve_applies_layers_lowest_first_and_skips_not_given() -> None:
    layers: list[dict[str, Any]] = [
        {"title": "default", "language": "en"},
        {"title": "text"},
        {"title": None, "author": "front"},
        {"author": "  ", "language": "fr"},
    ]
    assert resolve(layers) == {"title": "text", "language": "fr", "author": "front"}


def test_metadata_text_is_cleaned(tmp_path: Path) -> None:
    source = write(tmp_path, "a.txt", "Title\n\nBody.\n")
    metadata = read_document(source, {"title": "A\x00 <Title>\n  & \x1b More", "author": "Zoë\tAsbæk"}).metadata
    assert (metadata.title, metadata.author) == ("A <Title> & More", "Zoë Asbæk")


def test_identifier_is_stable_across_body_edits_and_follows_name_and_title(tmp_path: Path) -> None:
    source = write(tmp_path, "review.txt", "A Title\n\nBody one.\n")
    first = read_document(source).metadata.identifier
    assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", first)
    source.write_text("A Title\n\nA completely different body.\n\nThe Plot\n\nMore.\n")
    assert read_document(source).metadata.identifier == first
    assert read_document(source, {"title": "Another"}).metadata.identifier != first
    other = write(tmp_path, "other.txt", "A Title\n\nBody one.\n")
    assert read_document(other).metadata.identifier != first


def test_modified_comes_from_source_date_epoch_or_the_files_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path, "a.txt", "Title\n\nBody.\n")
    assert read_document(source).metadata.modified == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    os.utime(source, (1_600_000_000, 1_600_000_000))
    assert read_document(source).metadata.modified == dt.datetime.fromtimestamp(1_600_000_000, tz=dt.timezone.utc)


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("iss-review.txt", "iss-review"),
        ("ISS Review.txt", "iss-review"),
        ("Zoë's Asbæk review!.md", "zoe-s-asbaek-review"),
        ("review.v2.txt", "review.v2"),
        ("...hidden.txt", "hidden"),
        ("🎬.txt", "review"),
        ("a" * 200 + ".txt", "a" * 80),
    ],
)
def test_document_name(file_name: str, expected: str) -> None:
    assert document_name(Path("source") / file_name) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("The Plot: Peril and Intrigue in Space", "the-plot-peril-and-intrigue-in-space"),
        ("Is “I.S.S.” suitable for all audiences?", "is-i-s-s-suitable-for-all-audiences"),
        ("Pilou Asbæk & Zoë", "pilou-asbaek-zoe"),
        ("???", ""),
        ("שלום", ""),
        ("word " * 30, ("word-" * 12).rstrip("-")),
    ],
)
def test_slugify(title: str, expected: str) -> None:
    assert slugify(title) == expected


def test_ids_are_unique_start_with_a_letter_and_fall_back() -> None:
    ids = IdMaker()
    made = [
        ids.make(title, f"chapter-{number}")
        for number, title in enumerate(
            ["The Same", "The Same", "the-same", "The Same 2", "???", "1917 Review", "", "Chapter 5"], start=1
        )
    ]
    assert made == [
        "the-same",
        "the-same-2",
        "the-same-3",
        "the-same-2-2",
        "chapter-5",
        "s-1917-review",
        "chapter-7",
        "chapter-5-2",
    ]


def test_chapter_and_sentence_ids_in_a_document(tmp_path: Path) -> None:
    text = (
        "Slugs\n\nIntro.\n\nThe Same Title\n\nOne. Two.\n\nThe Same Title\n\nThree.\n\n"
        "שלום\n\nFour.\n\n1917 Again\n\nFive.\n"
    )
    document = read_document(write(tmp_path, "slugs.txt", text))
    assert [chapter.id for chapter in document.walk()] == [
        "introduction",
        "the-same-title",
        "the-same-title-2",
        "chapter-4",
        "s-1917-again",
    ]
    second = document.chapters[1]
    assert [sentence.id for sentence in second.all_sentences()] == [
        "the-same-title_h",
        "the-same-title_s1",
        "the-same-title_s2",
    ]


def test_roles(tmp_path: Path) -> None:
    text = "T\n\nIntro.\n\nVerdict\n\nPros\n\n- a\n\nCons\n\n- b\n\n1. Is it good?\nYes.\n\n2. Is it bad?\nNo.\n"
    document = read_document(write(tmp_path, "roles.txt", text))
    assert [(chapter.title, chapter.role) for chapter in document.walk()] == [
        ("Introduction", ChapterRole.INTRODUCTION),
        ("Verdict", ChapterRole.CHAPTER),
        ("Pros", ChapterRole.SECTION),
        ("Cons", ChapterRole.SECTION),
        ("Frequently Asked Questions", ChapterRole.FAQ),
        ("Is it good?", ChapterRole.QUESTION),
        ("Is it bad?", ChapterRole.QUESTION),
    ]


def test_no_headings_is_one_chapter_named_after_the_final_title(tmp_path: Path) -> None:
    source = write(tmp_path, "past-lives.txt", "A Short Take\n\nBody text. More text.\n\nAnother paragraph.\n")
    assert [chapter.title for chapter in read_document(source).chapters] == ["A Short Take"]
    assert [chapter.title for chapter in read_document(source, {"title": "Past Lives"}).chapters] == ["Past Lives"]
    explained = read_document(source).decisions
    assert any("no headings found" in decision.rule for decision in explained)


def test_hostile_text_is_kept_as_plain_safe_text(tmp_path: Path) -> None:
    text = (
        'Hostile <Review> & "Co"\n\nNUL\x00 bell\x07 C1\x85 tab\there <b>bold</b> & ]]> 🎬 שלום e\u0301 '
        "“quoted” — dash.\n\nThe   Plot\n\nSpaced     out    text.\n"
    )
    source = tmp_path / "hostile.txt"
    source.write_bytes(text.encode("utf-8"))
    document = read_document(source)
    sentences = [sentence.text for sentence in document.sentences()]
    assert sentences[1] == "NUL bell C1 tab here <b>bold</b> & ]]> 🎬 שלום \u00e9 “quoted” — dash."
    assert document.metadata.title == 'Hostile <Review> & "Co"'
    assert [chapter.title for chapter in document.chapters] == ["Introduction", "The Plot"]
    assert sentences[-1] == "Spaced out text."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b" \n\t\n  \r\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "looks like a PNG image, not text"),
        (b"abc\0\0\0\0def\0\0\0" * 20, "looks like a binary file, not text"),
        (bytes(range(128, 256)) * 4, "cannot tell the text encoding"),
        (b"Just A Title\n", "no body text after the title"),
        (b"Title\n\nFirst Heading\n\nSecond Heading\n", "no body text after the title"),
        (b"Title\n\n* * *\n", "no body text after the title"),
    ],
    ids=[
        "empty",
        "whitespace only",
        "png",
        "nul-heavy",
        "undecodable",
        "title only",
        "headings only",
        "separator only",
    ],
)
def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    source = tmp_path / "source" / "x.txt"
    source.parent.mkdir()
    source.write_bytes(content)
    with pytest.raises(SourceError) as raised:
        read_document(source)
    assert str(raised.value).startswith(f"{source}: {message}")
    assert "\n" not in str(raised.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope.txt: no such file"):
        read_document(tmp_path / "nope.txt")
    with pytest.raises(SourceError, match=r": is a folder"):
        read_document(tmp_path)


def test_cover_from_front_matter_is_relative_to_the_source(tmp_path: Path) -> None:
    (tmp_path / "reviews" / "images").mkdir(parents=True)
    (tmp_path / "reviews" / "images" / "cover.png").write_bytes(PNG)
    source = write(tmp_path / "reviews", "r.md", "---\ncover: images/cover.png\n---\n\nText.\n")
    assert read_document(source).metadata.cover == (tmp_path / "reviews" / "images" / "cover.png").resolve()


def test_cover_from_the_command_line_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "front.jpg").write_bytes(JPEG)
    source = write(tmp_path / "reviews", "r.md", "---\ncover: missing.png\n---\n\nText.\n")
    monkeypatch.chdir(tmp_path)
    assert read_document(source, {"cover": "art/front.jpg"}).metadata.cover == tmp_path / "art" / "front.jpg"
    assert read_document(source, {"cover": Path("art/front.jpg")}).metadata.cover == tmp_path / "art" / "front.jpg"


@pytest.mark.parametrize(
    ("cover", "message"),
    [
        ("missing.png", "does not exist"),
        ("folder", "is not a file"),
        ("fake.png", "is not a JPEG, PNG, GIF or WebP image"),
    ],
)
def test_bad_covers(tmp_path: Path, cover: str, message: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "fake.png").write_text("not an image")
    source = write(tmp_path, "r.txt", "Title\n\nBody.\n")
    with pytest.raises(SettingsError, match=message):
        read_document(source, {"cover": tmp_path / cover})


def test_front_matter_cover_cannot_leave_the_source_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(PNG)
    source = write(tmp_path / "reviews", "r.md", "---\ncover: ../secret.png\n---\n\nText.\n")
    with pytest.raises(SettingsError, match="points outside"):
        read_document(source)


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("en", True),
        ("en-GB", True),
        ("fr", True),
        ("zh-Hant-TW", True),
        ("sr-Latn", True),
        ("es-419", True),
        ("de-CH-1996", True),
        ("en-u-ca-gregory", True),
        ("x-private", True),
        ("yue", True),
        ("en-x-pirate", True),
        ("English", False),
        ("en_GB", False),
        ("e", False),
        ("en-", False),
        ("", False),
        ("en GB", False),
        ("12", False),
        ("en-GB-", False),
        ("toolonglanguage", False),
    ],
)
def test_language_tags(tag: str, valid: bool) -> None:
    assert is_language_tag(tag) is valid


@pytest.mark.parametrize(
    ("date", "valid"),
    [
        ("2024", True),
        ("2024-01", True),
        ("2024-01-19", True),
        ("2024-01-19T10:00:00Z", True),
        ("2024-13", False),
        ("2024-02-30", False),
        ("19/01/2024", False),
        ("yesterday", False),
        ("2024-01-19xyz", False),
    ],
)
def test_dates(date: str, valid: bool) -> None:
    assert is_iso_date(date) is valid


def test_every_settings_problem_in_one_message(tmp_path: Path) -> None:
    source = write(tmp_path, "r.txt", "Title\n\nBody.\n")
    with pytest.raises(SettingsError) as raised:
        read_document(source, {"language": "en_GB", "date": "tomorrow", "cover": tmp_path / "none.png"})
    message = str(raised.value)
    assert message.startswith(f"{source}: ")
    assert "write it as en-GB" in message and "not an ISO date" in message and "does not exist" in message
    assert "\n" not in message


def test_unknown_override_is_a_bug_not_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="not a metadata field: 'colour'"):
        read_document(write(tmp_path, "r.txt", "T\n\nB.\n"), {"colour": "red"})


def test_a_hundred_thousand_word_book_reads_into_its_chapters(tmp_path: Path) -> None:
    paragraph = " ".join(["Mr. Nolan's film runs 180 min. and the U.S. cut is 4.5 hours long."] * 10)
    chapters = "".join(f"Chapter {n}: The Part Number {n}\n\n" + (paragraph + "\n\n") * 8 for n in range(1, 101))
    source = write(tmp_path, "book.txt", "A Long Book\n\n" + chapters)
    document = read_document(source)
    assert document.words > 100_000 and len(document.chapters) == 100


def test_a_twenty_megabyte_text_in_one_paragraph_does_not_blow_up(tmp_path: Path) -> None:
    source = tmp_path / "huge.txt"
    source.write_text("Huge\n\n" + "Some words here, then a stop. " * 700_000 + "\n")
    assert source.stat().st_size > 20_000_000
    document = read_document(source)
    assert sum(1 for _ in document.chapters[0].body_sentences()) == 700_000


LINES = st.sampled_from(
    [
        "",
        "",
        "",
        "The Plot: Peril and Intrigue in Space",
        "WHAT IT IS ABOUT",
        "1. The Story",
        "II. Characters",
        "Pros",
        "Verdict",
        "=====",
        "-----",
        "- a bullet item",
        "* another item",
        "> a quote.",
        "Rating: 4/5",
        "Verdict: worth it.",
        "1. Is it good?",
        "Q: Is it long?",
        "A: No.",
        "FAQs",
        "???",
        "🎬",
        "# Marked",
        "## Sub Marked",
        "* * *",
        "Body text with Mr. Nolan and the U.S. crew. It is 4.5 hours long!",
        "שלום עולם",
        "<b>&amp;</b> ]]>",
    ]
)


@settings(
    max_examples=int(os.environ.get("REVIEWPUB_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(lines=st.lists(st.one_of(LINES, st.text(max_size=30)), max_size=30), markdown=st.booleans())
def test_any_text_gives_a_sound_document_or_a_source_error(tmp_path: Path, lines: list[str], markdown: bool) -> None:
    source = tmp_path / ("any.md" if markdown else "any.txt")
    source.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    try:
        document = read_document(source)
    except SourceError as error:
        assert str(error).startswith(f"{source}: ") and "\n" not in str(error)
        return
    check_model_promises(document)
    assert document.metadata.title and document.metadata.title == " ".join(document.metadata.title.split())
