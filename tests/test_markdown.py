"""Markdown: heading levels, title heading, front matter, blocks, and inline styling kept in spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reviewpub.document import ChapterRole, ListBlock, Paragraph, Quote, Span
from reviewpub.errors import SettingsError, SourceError
from reviewpub.reading import read_document
from reviewpub.reading.markdown import inline_spans, parse_markdown
from reviewpub.reading.structure import DraftSection, text_of


def tree(sections: list[DraftSection]) -> list[Any]:
    """Titles and roles of a draft tree, children nested."""
    return [
        (section.title, section.role.value, tree(section.children)) if section.children else (section.title, section.role.value)
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
    assert [(span.text, span.strong, span.emphasis) for span in block.parts[0]] == [("Deep ", True, False), ("one", True, True)]
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
        ("[link *text*](https://e.org/x)", [Span("link ", href="https://e.org/x"), Span("text", emphasis=True, href="https://e.org/x")]),
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
        "# Styled\n\nA *strange. And* **wonderful** film from [Yorgos Lanthimos](https://example.org/y). It is 2.5 hours.\n"
    )
    chapter = read_document(source).chapters[0]
    sentences = list(chapter.body_sentences())
    assert [sentence.text for sentence in sentences] == [
        "A strange.", "And wonderful film from Yorgos Lanthimos.", "It is 2.5 hours."
    ]
    assert sentences[0].spans == (Span("A "), Span("strange.", emphasis=True))
    assert sentences[1].spans == (
        Span("And", emphasis=True), Span(" "), Span("wonderful", strong=True), Span(" film from "),
        Span("Yorgos Lanthimos", href="https://example.org/y"), Span("."),
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
    assert [" ".join(s.text for s in item) for item in blocks[0].items] == ["one", "two styled nested"]
    assert isinstance(blocks[1], ListBlock) and blocks[1].ordered
    assert isinstance(blocks[2], Quote)
    assert [[s.text for s in paragraph.sentences] for paragraph in blocks[2].paragraphs] == [
        ["Quoted.", "Still quoted."], ["Second paragraph."]
    ]
    assert isinstance(blocks[3], Paragraph) and blocks[3].sentences[0].spans == (Span("code block", code=True),)


def test_front_matter_fills_the_metadata(tmp_path: Path) -> None:
    source = tmp_path / "fm.md"
    source.write_text(
        "---\ntitle: Poor Things, Reviewed\nsubtitle: A Fairy Tale\nauthor: Zoë Asbæk\nlang: en-GB\ndate: 2024-01-19\n"
        "description: A review.\npublisher: The Small Screen\nrights: CC BY 4.0\nlayout: post\n---\n\n# Poor Things\n\nText.\n",
        encoding="utf-8",
    )
    metadata = read_document(source).metadata
    assert (metadata.title, metadata.subtitle, metadata.author, metadata.language, metadata.date) == (
        "Poor Things, Reviewed", "A Fairy Tale", "Zoë Asbæk", "en-GB", "2024-01-19"
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
    with pytest.raises(SourceError, match=r"empty-body.md: no body text after the title; add paragraphs under the title and headings$"):
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
