"""Properties of reading: no word of the source is lost on the way to the EPUB, at any nesting,
and no front matter gives anything but a document or one line.

Sources come from small grammars that know which words they wrote, so the check is exact:
every word (a run of letters and digits) of the source's text is in the text of the EPUB's
XHTML files, read back with a zip reader and an XML parser. The examples are the same on every
``make test`` (the profile in conftest.py); ``REVIEWPUB_HYPOTHESIS_EXAMPLES=N`` searches longer.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from reviewpub.errors import ReviewpubError
from reviewpub.reading import read_document
from reviewpub.writers.epub import write_epub

EXAMPLES = int(os.environ.get("REVIEWPUB_HYPOTHESIS_EXAMPLES", "20"))
MAX_DEPTH = 30
"""Deepest nesting of lists and quotes drawn: well past markdown-it's limit of 20 tokens."""
WORD_PATTERN = re.compile(r"\w+")

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Letter first: a line that starts with digits and a dot is an ordered-list marker, not text.
WORDS = st.builds(str.__add__, st.sampled_from(LETTERS), st.text(LETTERS + "0123456789", max_size=6)) | st.sampled_from(
    ["Zoë", "Asbæk", "naïve", "Ødegaard"]
)


@dataclass
class Source:
    """A generated review and the words its text holds."""

    text: str
    words: set[str]


def epub_words(path: Path) -> set[str]:
    """Every word of the text of every XHTML file in the EPUB."""
    found: set[str] = set()
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".xhtml"):
                root = etree.fromstring(archive.read(name))
                found.update(WORD_PATTERN.findall(" ".join(root.itertext())))
    return found


def assert_every_word_reaches_the_epub(tmp_path: Path, source: Source, suffix: str) -> None:
    """Read the source, write its EPUB, and find each of the source's words in the EPUB's text."""
    path = tmp_path / f"generated{suffix}"
    path.write_text(source.text, encoding="utf-8")
    epub = write_epub(read_document(path), tmp_path / "generated.epub")
    missing = source.words - epub_words(epub)
    assert not missing, f"words lost: {sorted(missing)}\nsource:\n{source.text}"


@st.composite
def inline_text(draw: st.DrawFn, words: set[str]) -> str:
    """A line of styled words: plain, emphasis, strong, code, a link or an image's alt text."""
    pieces: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        run = draw(st.lists(WORDS, min_size=1, max_size=3))
        words.update(run)
        text = " ".join(run)
        style = draw(st.sampled_from(["plain", "plain", "em", "strong", "code", "link", "image"]))
        pieces.append(
            {
                "plain": text,
                "em": f"*{text}*",
                "strong": f"**{text}**",
                "code": f"`{text}`",
                "link": f"[{text}](https://example.org/{run[0]})",
                "image": f"![{text}](cover.png)",
            }[style]
        )
    return " ".join(pieces) + draw(st.sampled_from(["", ".", "!"]))


@st.composite
def leaf_block(draw: st.DrawFn, words: set[str]) -> list[str]:
    """A block with no children: a paragraph (maybe over two lines), a heading or fenced code."""
    kind = draw(st.sampled_from(["paragraph", "paragraph", "paragraph", "heading", "code"]))
    if kind == "heading":
        return ["#" * draw(st.integers(1, 6)) + " " + draw(inline_text(words))]
    if kind == "code":
        run = draw(st.lists(WORDS, min_size=1, max_size=4))
        words.update(run)
        return ["```", " ".join(run), "```"]
    lines = [draw(inline_text(words))]
    if draw(st.booleans()):
        lines.append(draw(inline_text(words)))
    return lines


def join_blocks(blocks: list[list[str]], tight: bool) -> list[str]:
    """Blocks one after another: a blank line between them, or none before a container when tight."""
    lines: list[str] = []
    for block in blocks:
        if lines and not (tight and block[0][:2] in ("- ", "1.", "> ")):
            lines.append("")
        lines += block
    return lines


def in_list_item(lines: list[str], marker: str) -> list[str]:
    """Lines as the content of one list item: the marker, then the rest indented to its width."""
    indent = " " * len(marker)
    return [marker + lines[0], *((indent + line) if line else "" for line in lines[1:])]


def in_quote(lines: list[str]) -> list[str]:
    """Lines inside a block quote."""
    return [f"> {line}" if line else ">" for line in lines]


@st.composite
def nested_block(draw: st.DrawFn, words: set[str], depth: int) -> list[str]:
    """``depth`` lists and quotes nested one inside the next, with siblings at every level."""
    if depth == 0:
        return draw(leaf_block(words))
    inner = draw(nested_block(words, depth - 1))
    # Siblings at a few levels only: thirty levels of them would make every example huge and slow.
    before = [draw(leaf_block(words))] if draw(st.integers(0, 3)) == 0 else []
    after = [draw(leaf_block(words))] if draw(st.integers(0, 3)) == 0 else []
    content = join_blocks([*before, inner, *after], tight=draw(st.booleans()))
    kind = draw(st.sampled_from(["list", "ordered", "quote"]))
    if kind == "quote":
        return in_quote(content)
    marker = "- " if kind == "list" else "1. "
    items = [in_list_item(content, marker)]
    if draw(st.integers(0, 3)) == 0:
        items.append(in_list_item(draw(leaf_block(words)), "- " if kind == "list" else "2. "))
    return [line for item in items for line in item]


@st.composite
def markdown_sources(draw: st.DrawFn) -> Source:
    """A Markdown review: an optional title heading, then blocks nested up to MAX_DEPTH deep."""
    words: set[str] = set()
    blocks: list[list[str]] = []
    if draw(st.booleans()):
        blocks.append(["# " + draw(inline_text(words))])
    for _ in range(draw(st.integers(1, 2))):
        blocks.append(draw(nested_block(words, draw(st.integers(0, MAX_DEPTH)))))
    # Body text the document cannot do without, so every draw is a readable review.
    blocks.append([draw(inline_text(words))])
    return Source("\n".join(join_blocks(blocks, tight=False)) + "\n", words)


@st.composite
def plain_sources(draw: st.DrawFn) -> Source:
    """A plain-text review: a title, then headings, paragraphs, indented lists and quote lines."""
    words: set[str] = set()

    def line(*, title_case: bool = False) -> str:
        run = draw(st.lists(WORDS, min_size=1, max_size=6))
        text = " ".join(run).title() if title_case else " ".join(run)
        # title() changes letter case only: the words a reader finds are the title-cased ones.
        words.update(WORD_PATTERN.findall(text))
        return text

    lines = [line(), ""]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["heading", "paragraph", "list", "quote", "numbered"]))
        if kind == "heading":
            lines += [line(title_case=True), ""]
        elif kind == "paragraph":
            lines += [line() + ". " + line() + ".", ""]
        elif kind == "list":
            lines += [
                "  " * draw(st.integers(0, MAX_DEPTH)) + "- " + line() for _ in range(draw(st.integers(1, 4)))
            ] + [""]
        elif kind == "quote":
            lines += ["> " * draw(st.integers(1, MAX_DEPTH)) + line() + "." for _ in range(draw(st.integers(1, 3)))] + [
                ""
            ]
        else:
            lines += [f"{number}. {line()}" for number in range(1, draw(st.integers(2, 4)))] + [""]
    lines += [line() + ".", ""]
    return Source("\n".join(lines), words)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(source=markdown_sources())
def test_every_word_of_any_markdown_reaches_the_epub(tmp_path: Path, source: Source) -> None:
    assert_every_word_reaches_the_epub(tmp_path, source, ".md")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(source=plain_sources())
def test_every_word_of_any_plain_text_reaches_the_epub(tmp_path: Path, source: Source) -> None:
    assert_every_word_reaches_the_epub(tmp_path, source, ".txt")


YAML_PIECES = [
    "title",
    "date",
    "author",
    "authors",
    "lang",
    "cover",
    "description",
    "layout",
    "<<",
    ": ",
    ":",
    " ",
    "\n",
    "\n  ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "!!int ",
    "!!float ",
    "!!bool ",
    "!!null ",
    "!!str ",
    "!!binary ",
    "!!timestamp ",
    "!!set ",
    "!!omap ",
    "!!pairs ",
    "!!map ",
    "!!seq ",
    "!!python/object/apply:os.system ",
    "!local ",
    "&a ",
    "*a",
    "2024-02-30",
    "2024-01-19",
    "2024-01-19 25:00:00",
    "2024-01-19T10:00:00+99:00",
    "0000-01-01",
    "9" * 5000,
    "1e999",
    ".nan",
    "0x_",
    "0o9",
    "yes",
    "maybe",
    "~",
    "null",
    '"',
    "'",
    "|",
    ">",
    "#",
    "%",
    "@",
    "`",
    "?",
    "\t",
    "Review",
    "en-GB",
    "123",
    "cover.png",
    "../outside.png",
    "\\",
    "é",
    "...",
    "<<: *a",
]
"""Fragments of YAML, good and bad: tags of every core type, dates that do not exist, huge numbers."""


@settings(max_examples=EXAMPLES * 10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.lists(st.lists(st.sampled_from(YAML_PIECES) | st.text(max_size=3), max_size=6), min_size=1, max_size=5)
)
def test_any_front_matter_gives_a_document_or_one_line(tmp_path: Path, fields: list[list[str]]) -> None:
    names = ["title", "date", "author", "lang", "layout"]
    front = "\n".join(f"{names[number % len(names)]}: {''.join(pieces)}" for number, pieces in enumerate(fields))
    source = tmp_path / "front.md"
    source.write_text(f"---\n{front}\n---\n\nBody text.\n", encoding="utf-8", errors="surrogatepass")
    try:
        document = read_document(source)
    except ReviewpubError as error:
        message = str(error)
        assert "\n" not in message and str(source) in message and len(message) < 400, message
        return
    assert document.metadata.title and "\n" not in document.metadata.title
