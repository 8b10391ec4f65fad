"""Markdown: heading levels, title heading, front matter, blocks, and inline styling kept in spans."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from reviewpub.document import ChapterRole, ListBlock, Paragraph, Quote, Span
from reviewpub.errors import ExitStatus, SettingsError, SourceError
from reviewpub.reading import read_document
from reviewpub.reading.markdown import inline_spans, parse_markdown
from reviewpub.reading.structure import DraftSection, text_of
from reviewpub.writers.epub import write_epub
from tests.helpers.cli import run_cli


def tree(sections: list[DraftSection]) -> list[Any]:
    """Titles and roles of a draft tree, children nested."""
    return [
        (section.title, section.role.value, tree(section.children))
        if section.children
        else (section.title, section.role.value)
        for section in sections
    ]


@pytest.mark.parametrize(
    ("text", "title", "expected"),
    [
        pytest.param(
            "# Title\n\nIntro.\n\n## One\n\nText.\n\n### Sub\n\nText.\n\n## Two\n\nText.\n",
            "Title",
            [("Introduction", "introduction"), ("One", "chapter", [("Sub", "section")]), ("Two", "chapter")],
            id="a single opening H1 is the title; H2 chapters, H3 sections",
        ),
        pytest.param(
            "## One\n\nText.\n\n### Sub\n\nText.\n\n## Two\n\nText.\n",
            None,
            [("One", "chapter", [("Sub", "section")]), ("Two", "chapter")],
            id="the shallowest level used is the chapter level",
        ),
        pytest.param(
            "# One\n\nText.\n\n# Two\n\nText.\n",
            None,
            [("One", "chapter"), ("Two", "chapter")],
            id="two H1s are chapters, not a title",
        ),
        pytest.param(
            "Intro first.\n\n# Late\n\nText.\n",
            None,
            [("Introduction", "introduction"), ("Late", "chapter")],
            id="an H1 after text is a chapter",
        ),
        pytest.param(
            "Title\n=====\n\nText.\n\nPart\n----\n\nText.\n",
            "Title",
            [("Introduction", "introduction"), ("Part", "chapter")],
            id="setext headings",
        ),
        pytest.param(
            "# T\n\n## FAQ\n\n### Is it good?\n\nYes.\n\n### Is it long?\n\nNo.\n",
            "T",
            [("FAQ", "faq", [("Is it good?", "question"), ("Is it long?", "question")])],
            id="a chapter named FAQ holds questions",
        ),
    ],
)
def test_heading_levels(text: str, title: str | None, expected: Any) -> None:
    parsed = parse_markdown(text, "x.md")
    assert parsed.title == title
    assert tree(parsed.sections) == expected


def test_deeper_headings_are_kept_as_bold_lines() -> None:
    parsed = parse_markdown("## A\n\nText.\n\n### B\n\nText.\n\n#### Deep *one*\n\nText.\n\n## C\n\nText.\n", "x.md")
    block = parsed.sections[0].children[0].blocks[1]
    assert block.kind == "paragraph"
    assert [(span.text, span.strong, span.emphasis) for span in block.parts[0]] == [
        ("Deep ", True, False),
        ("one", True, True),
    ]
    assert any(decision.verdict == "body" and "deeper than sections" in decision.rule for decision in parsed.decisions)


def inline(markdown: str) -> list[Span]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown)
    return inline_spans(next(token for token in tokens if token.type == "inline"))


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("plain", [Span("plain")]),
        ("a *b* c", [Span("a "), Span("b", emphasis=True), Span(" c")]),
        ("**strong** _em_", [Span("strong", strong=True), Span(" "), Span("em", emphasis=True)]),
        ("***both***", [Span("both", emphasis=True, strong=True)]),
        ("`code` here", [Span("code", code=True), Span(" here")]),
        (
            "[link *text*](https://e.org/x)",
            [Span("link ", href="https://e.org/x"), Span("text", emphasis=True, href="https://e.org/x")],
        ),
        ("![alt text](img.png)", [Span("alt text")]),
        ("line\nbreak", [Span("line"), Span(" "), Span("break")]),
        ("a < b & c", [Span("a < b & c")]),
    ],
)
def test_inline_styles_become_spans(markdown: str, expected: list[Span]) -> None:
    assert inline(markdown) == expected


def test_styling_survives_sentence_splits(tmp_path: Path) -> None:
    source = tmp_path / "styled.md"
    source.write_text(
        "# Styled\n\nA *strange. And* **wonderful** film from [Yorgos Lanthimos](https://example.org/y). "
        "It is 2.5 hours.\n"
    )
    chapter = read_document(source).chapters[0]
    sentences = list(chapter.body_sentences())
    assert [sentence.text for sentence in sentences] == [
        "A strange.",
        "And wonderful film from Yorgos Lanthimos.",
        "It is 2.5 hours.",
    ]
    assert sentences[0].spans == (Span("A "), Span("strange.", emphasis=True))
    assert sentences[1].spans == (
        Span("And", emphasis=True),
        Span(" "),
        Span("wonderful", strong=True),
        Span(" film from "),
        Span("Yorgos Lanthimos", href="https://example.org/y"),
        Span("."),
    )
    assert chapter.title == "Styled" and chapter.id == "styled"


def test_blocks_lists_quotes_and_code(tmp_path: Path) -> None:
    source = tmp_path / "blocks.md"
    source.write_text(
        "# Blocks\n\n## Part\n\n- one\n- two *styled*\n  - nested\n\n1. first\n2. second\n\n"
        "> Quoted. Still quoted.\n>\n> Second paragraph.\n\n```\ncode block\n```\n"
    )
    blocks = read_document(source).chapters[0].blocks
    assert isinstance(blocks[0], ListBlock) and not blocks[0].ordered
    # The EPUB renders one list level: a nested item is an item of the outer list, in reading order.
    assert [" ".join(s.text for s in item) for item in blocks[0].items] == ["one", "two styled", "nested"]
    assert isinstance(blocks[1], ListBlock) and blocks[1].ordered
    assert isinstance(blocks[2], Quote)
    assert [[s.text for s in paragraph.sentences] for paragraph in blocks[2].paragraphs] == [
        ["Quoted.", "Still quoted."],
        ["Second paragraph."],
    ]
    assert isinstance(blocks[3], Paragraph) and blocks[3].sentences[0].spans == (Span("code block", code=True),)


def test_front_matter_fills_the_metadata(tmp_path: Path) -> None:
    source = tmp_path / "fm.md"
    source.write_text(
        "---\ntitle: Poor Things, Reviewed\nsubtitle: A Fairy Tale\nauthor: Zoë Asbæk\nlang: en-GB\ndate: 2024-01-19\n"
        "description: A review.\npublisher: The Small Screen\nrights: CC BY 4.0\nlayout: post\n---\n\n"
        "# Poor Things\n\nText.\n",
        encoding="utf-8",
    )
    metadata = read_document(source).metadata
    assert (metadata.title, metadata.subtitle, metadata.author, metadata.language, metadata.date) == (
        "Poor Things, Reviewed",
        "A Fairy Tale",
        "Zoë Asbæk",
        "en-GB",
        "2024-01-19",
    )
    assert (metadata.description, metadata.publisher, metadata.rights) == ("A review.", "The Small Screen", "CC BY 4.0")


def test_front_matter_lists_are_joined(tmp_path: Path) -> None:
    source = tmp_path / "fm.md"
    source.write_text("---\nauthors: [Ann, Bob]\n---\n\nText.\n")
    assert read_document(source).metadata.author == "Ann, Bob"


@pytest.mark.parametrize(
    ("front", "error", "message"),
    [
        ("title: [unclosed", SourceError, "the front matter is not valid YAML"),
        ("- just\n- a list", SourceError, "the front matter must be 'key: value' lines"),
        ("title:\n  nested: mapping", SettingsError, "title in the front matter must be text"),
        ("lang: English", SettingsError, "language 'English' is not a BCP 47 language tag"),
    ],
)
def test_bad_front_matter(tmp_path: Path, front: str, error: type[Exception], message: str) -> None:
    source = tmp_path / "bad.md"
    source.write_text(f"---\n{front}\n---\n\nText.\n")
    with pytest.raises(error, match=message):
        read_document(source)


def test_front_matter_alone_is_no_body_text(tmp_path: Path) -> None:
    source = tmp_path / "empty-body.md"
    source.write_text("---\ntitle: Nothing Here\n---\n\n# Nothing Here\n")
    with pytest.raises(
        SourceError, match=r"empty-body.md: no body text after the title; add paragraphs under the title and headings$"
    ):
        read_document(source)


def test_markdown_without_headings_is_one_chapter_named_after_the_title(tmp_path: Path) -> None:
    source = tmp_path / "plain.md"
    source.write_text("---\ntitle: Aftersun\n---\n\nJust *text*.\n")
    document = read_document(source)
    assert [(chapter.title, chapter.role) for chapter in document.chapters] == [("Aftersun", ChapterRole.CHAPTER)]


def test_empty_heading_gets_a_title(tmp_path: Path) -> None:
    source = tmp_path / "h.md"
    source.write_text("## A\n\nText.\n\n##\n\nMore.\n")
    assert [chapter.title for chapter in read_document(source).chapters] == ["A", "Untitled"]


def test_heading_text_is_plain_but_keeps_its_styling(tmp_path: Path) -> None:
    source = tmp_path / "h.md"
    source.write_text("## The *Big*   `Idea`\n\nText.\n\n## Two\n\nText.\n")
    chapter = read_document(source).chapters[0]
    assert chapter.title == "The Big Idea"
    assert chapter.heading.spans == (Span("The "), Span("Big", emphasis=True), Span(" "), Span("Idea", code=True))
    assert text_of(list(chapter.heading.spans)) == chapter.title


def epub_text(document_path: Path, tmp_path: Path) -> str:
    """The text of every XHTML file of the EPUB written for a source, read back with an XML parser."""
    epub = write_epub(read_document(document_path), tmp_path / "out.epub")
    with zipfile.ZipFile(epub) as archive:
        roots = [etree.fromstring(archive.read(name)) for name in archive.namelist() if name.endswith(".xhtml")]
    return " ".join(" ".join(root.itertext()) for root in roots)


DEEP_LIST = "\n".join("  " * depth + f"- item{depth}" for depth in range(14)) + "\n\nAfter the list.\n"
DEEP_QUOTE = (
    "".join(">" * depth + f" quote{depth}\n" + ">" * depth + "\n" for depth in range(1, 26)) + "\nAfter the quote.\n"
)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(DEEP_LIST, [f"item{depth}" for depth in range(14)] + ["After"], id="a list nested 14 deep"),
        pytest.param(DEEP_QUOTE, [f"quote{depth}" for depth in range(1, 26)] + ["After"], id="quotes nested 25 deep"),
        pytest.param("- " * 3000 + "bottom\n\nAfter.\n", ["bottom", "After"], id="3000 lists on one line"),
        pytest.param(">" * 20000 + " bottom\n\nAfter.\n", ["bottom", "After"], id="20000 quotes on one line"),
        pytest.param(
            "".join("> - 1. " for _ in range(40)) + "*mixed* `code`\n\nAfter.\n",
            ["mixed", "code", "After"],
            id="quotes and lists mixed, 120 deep",
        ),
        pytest.param(
            "- item\n\n  ```\n  fenced words\n  ```\n\n  > quoted in item\n\n      indented code\n",
            ["item", "fenced", "words", "quoted", "indented"],
            id="code and quotes inside a list item",
        ),
    ],
)
def test_deep_markdown_keeps_every_word(tmp_path: Path, body: str, words: list[str]) -> None:
    source = tmp_path / "deep.md"
    source.write_text("# Deep\n\n" + body, encoding="utf-8")
    text = epub_text(source, tmp_path)
    assert [word for word in words if word not in text] == []


def test_deep_levels_become_items_of_the_outer_list_and_paragraphs_of_the_outer_quote(tmp_path: Path) -> None:
    source = tmp_path / "deep.md"
    source.write_text("# Deep\n\n" + DEEP_LIST + "\n" + DEEP_QUOTE, encoding="utf-8")
    blocks = read_document(source).chapters[0].blocks
    assert isinstance(blocks[0], ListBlock)
    assert [" ".join(sentence.text for sentence in item) for item in blocks[0].items] == [
        f"item{depth}" for depth in range(14)
    ]
    assert isinstance(blocks[2], Quote)
    assert [paragraph.sentences[0].text for paragraph in blocks[2].paragraphs] == [
        f"quote{depth}" for depth in range(1, 26)
    ]


@pytest.mark.parametrize(
    ("front", "message"),
    [
        pytest.param(
            "date: 2024-02-30",
            "date '2024-02-30' is not an ISO date such as 2024-01-19",
            id="a day that does not exist",
        ),
        pytest.param(
            "date: 2024-01-19T25:99:00",
            "date '2024-01-19T25:99:00' is not an ISO date",
            id="an hour that does not exist",
        ),
        pytest.param(
            "title: !!int abc",
            "title in the front matter: 'abc' is not a YAML int; remove the !!int tag",
            id="!!int abc",
        ),
        pytest.param("title: !!float abc", "title in the front matter: 'abc' is not a YAML float", id="!!float abc"),
        pytest.param(
            "author: !!bool maybe", "author in the front matter: 'maybe' is not a YAML bool", id="!!bool maybe"
        ),
        pytest.param(
            "date: !!timestamp 2024-99", "date in the front matter: '2024-99' is not a YAML timestamp", id="!!timestamp"
        ),
        pytest.param(
            "title: !!binary 'é'", "title in the front matter: the !!binary value is not base64", id="!!binary"
        ),
        pytest.param("title: " + "9" * 5000, "title is longer than 2000 characters", id="a 5,000-digit integer"),
        pytest.param(
            "title: !!int " + "9" * 5000, "title is longer than 2000 characters", id="an explicit 5,000-digit integer"
        ),
        pytest.param("title: {a: 1}", "title in the front matter must be text, not a mapping", id="a mapping"),
        pytest.param("lang: 123", "language '123' is not a BCP 47 language tag", id="a number for a language"),
        pytest.param("lang: " + "x" * 5000, "language 'xxxxxxxx", id="a long bad value is quoted short"),
        pytest.param(
            "title: !!python/object/apply:os.system [ls]",
            "title in the front matter: the YAML tag !!python/object/apply:os.system cannot be used here",
            id="a python tag",
        ),
        pytest.param(
            "layout: !!int abc", "layout in the front matter: 'abc' is not a YAML int", id="keys we ignore still parse"
        ),
        pytest.param(
            "layout: !local x", "layout in the front matter: the YAML tag !local cannot be used here", id="a local tag"
        ),
        pytest.param(
            "title: *missing",
            "the front matter is not valid YAML (line 2, field 'title': found undefined alias",
            id="alias",
        ),
        pytest.param(
            "title: 'open",
            "the front matter is not valid YAML (line 2, field 'title': found unexpected end of stream)",
            id="unclosed quote",
        ),
        pytest.param(
            "x: " + "[" * 40 + "]" * 40,
            "the front matter nests lists or mappings more than 32 deep (line 2)",
            id="nesting",
        ),
        pytest.param(
            "x: " + "- " * 20000 + "y", "the front matter is not valid YAML (line 2", id="a sequence per character"
        ),
        pytest.param(
            "description: " + "x" * 70_000, "the front matter is 68 KB, more than the 64 KB allowed", id="over 64 KB"
        ),
    ],
)
def test_bad_front_matter_is_one_line_naming_file_and_field(tmp_path: Path, front: str, message: str) -> None:
    source = tmp_path / "bad.md"
    source.write_text(f"---\n{front}\n---\n\nText.\n", encoding="utf-8")
    result = run_cli("outline", str(source), expect=ExitStatus.ERROR)
    assert result.stderr.startswith(f"Error: {source}: ") and result.stderr.count("\n") == 1
    assert message in result.stderr and len(result.stderr) < 300


@pytest.mark.parametrize(
    ("front", "field", "expected"),
    [
        pytest.param("title: [1, 2]", "title", "1, 2", id="a list is joined"),
        pytest.param("author: null", "author", None, id="null is not given"),
        pytest.param("title: 1e3", "title", "1e3", id="a number stays as written"),
        pytest.param("title: 007", "title", "007", id="leading zeros stay"),
        pytest.param("title: yes", "title", "yes", id="a YAML 1.1 boolean stays text"),
        pytest.param("title: !!int 42", "title", "42", id="a tag that fits"),
        pytest.param("title: !!str 2024-01-19", "title", "2024-01-19", id="!!str"),
        pytest.param("date: 2024-01-19 10:00:00", "date", "2024-01-19T10:00:00", id="a timestamp as ISO 8601"),
        pytest.param("date: 2024-01-19", "date", "2024-01-19", id="a date"),
        pytest.param("x: &name Ann\nauthor: *name", "author", "Ann", id="an alias"),
        pytest.param(
            "base: &base {title: Merged, author: Ann}\n<<: *base\nauthor: Bob", "title", "Merged", id="a merge key"
        ),
        pytest.param(
            "base: &base {title: Merged, author: Ann}\n<<: *base\nauthor: Bob",
            "author",
            "Bob",
            id="own keys beat merged ones",
        ),
        pytest.param("a: &a [x, *a]\ntitle: *a", "title", "x", id="a recursive alias reads one level"),
        pytest.param(
            "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\ntitle: *c",
            "title",
            "T",
            id="an alias bomb is never expanded",
        ),
        pytest.param("? [a, b]\n: c\ntitle: Kept", "title", "Kept", id="a key that is a list is ignored"),
    ],
)
def test_front_matter_values_are_read_as_written(tmp_path: Path, front: str, field: str, expected: str | None) -> None:
    source = tmp_path / "T.md"
    source.write_text(f"---\n{front}\n---\n\nText.\n", encoding="utf-8")
    assert getattr(read_document(source).metadata, field) == expected
