"""Markdown reviews through markdown-it-py: headings, front matter, lists, quotes, inline styles."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reviewpub.document import ChapterRole, Decision, Span
from reviewpub.reading.front_matter import FrontValue, load_front_matter
from reviewpub.reading.ratings import RatingLine, find_rating_lines
from reviewpub.reading.structure import (
    FAQ_TITLE,
    INTRODUCTION_TITLE,
    UNTITLED,
    DraftBlock,
    DraftSection,
    normalize_title,
    text_of,
)

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_block import StateBlock
    from markdown_it.rules_core import StateCore
    from markdown_it.token import Token

MAX_NESTING = 20
"""markdown-it's limit on nested tokens (the CommonMark preset's value, which also bounds its
recursion on ``[[[[`` links). At the limit markdown-it silently skips the rest of the enclosing
block, inside a list the rest of the document, so FLATTEN_LEVEL stops nesting before it."""
FLATTEN_LEVEL = 16
"""Token level from which quotes and lists are no longer opened: 8 nested lists or 16 nested
quotes, far more than the model's one level. Deeper markers are removed and their text kept as
items of the deepest list or paragraphs of the deepest quote. A list opened at level 15 puts its
content at 17, still below MAX_NESTING."""
DEEP_MARKERS = re.compile(r"[ \t]*(?:(?:>|[-+*](?=[ \t]|$))[ \t]*)+")
"""Quote and bullet markers at the start of a line, which past FLATTEN_LEVEL arrive as text."""
CONTAINER_KINDS = {"bullet_list_open": "list", "ordered_list_open": "ordered", "blockquote_open": "quote"}
CONTENT_TOKENS = ("inline", "fence", "code_block", "html_block")
"""Block tokens that carry text (an ``inline`` holds a paragraph's or a heading's)."""


@dataclass
class Heading:
    """A heading found in the Markdown, with its level and styled text."""

    level: int
    spans: list[Span]
    line: int


@dataclass
class ParsedMarkdown:
    """What the Markdown reader found."""

    title: str | None
    front_matter: dict[str, FrontValue]
    sections: list[DraftSection]
    decisions: list[Decision] = field(default_factory=list)
    rating_lines: list[RatingLine] = field(default_factory=list)
    """Whole lines of paragraphs and list items that read as a rating (``**Rating:** 4/5``)."""


def inline_spans(token: Any) -> list[Span]:
    """Styled spans from an inline token: emphasis, strong, code and links kept."""
    spans: list[Span] = []
    emphasis = strong = 0
    links: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind == "em_open":
            emphasis += 1
        elif kind == "em_close":
            emphasis -= 1
        elif kind == "strong_open":
            strong += 1
        elif kind == "strong_close":
            strong -= 1
        elif kind == "link_open":
            links.append(str(child.attrGet("href") or ""))
        elif kind == "link_close":
            if links:
                links.pop()
        elif kind in ("softbreak", "hardbreak"):
            spans.append(Span(" "))
        elif kind == "code_inline":
            spans.append(Span(child.content, emphasis > 0, strong > 0, True, links[-1] if links else None))
        elif kind == "image":
            alt = "".join(grandchild.content for grandchild in child.children or []) or child.content
            if alt:
                spans.append(Span(alt, emphasis > 0, strong > 0, False, links[-1] if links else None))
        elif child.content:
            spans.append(Span(child.content, emphasis > 0, strong > 0, False, links[-1] if links else None))
    return [span for span in spans if span.text]


def markdown_parser() -> MarkdownIt:
    """CommonMark with front matter, where containers past FLATTEN_LEVEL are read as text.

    markdown-it stops at its nesting limit and skips the rest of the enclosing block: inside a
    list, the rest of the document. Declining to open quotes and lists from FLATTEN_LEVEL on
    keeps every deeper line as paragraph text, well below the limit and the Python stack's.
    """
    from markdown_it import MarkdownIt
    from mdit_py_plugins.front_matter import front_matter_plugin

    parser = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).use(front_matter_plugin)
    for rule in list(parser.block.ruler.__rules__):
        if rule.name in ("blockquote", "list"):
            parser.block.ruler.at(rule.name, declined_when_deep(rule.fn), {"alt": list(rule.alt)})
    parser.core.ruler.after("block", "split_deep_paragraphs", split_deep_paragraphs)
    return parser


def declined_when_deep(
    rule: Callable[[StateBlock, int, int, bool], bool],
) -> Callable[[StateBlock, int, int, bool], bool]:
    """A container rule that does not open at FLATTEN_LEVEL or deeper, so its lines stay paragraph text."""

    def rule_below_flatten_level(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        if state.level >= FLATTEN_LEVEL:
            return False
        return rule(state, start_line, end_line, silent)

    return rule_below_flatten_level


def split_deep_paragraphs(state: StateCore) -> None:
    """Cut each paragraph past FLATTEN_LEVEL where a ``>``/``-`` marker began a line, markers removed.

    Each piece becomes a paragraph marked ``flattened``: an item of the enclosing list, or a
    paragraph of the enclosing quote. Runs before inline parsing, so emphasis and links still work.
    """
    tokens: list[Token] = []
    index = 0
    while index < len(state.tokens):
        token = state.tokens[index]
        if token.type != "paragraph_open" or token.level < FLATTEN_LEVEL:
            tokens.append(token)
            index += 1
            continue
        inline, closing = state.tokens[index + 1], state.tokens[index + 2]
        for piece in deep_pieces(inline.content):
            opening = token.copy(meta={**token.meta, "flattened": True})
            tokens += [opening, inline.copy(content=piece, children=[]), closing.copy()]
        index += 3
    state.tokens = tokens


def deep_pieces(content: str) -> list[str]:
    """Paragraph text split where a container marker began a line, the markers removed."""
    pieces: list[list[str]] = []
    for line in content.split("\n"):
        marker = DEEP_MARKERS.match(line)
        if marker or not pieces:
            pieces.append([])
        pieces[-1].append(line[marker.end() :] if marker else line)
    return [text for text in ("\n".join(lines).strip() for lines in pieces) if text]


def content_spans(token: Token) -> list[Span]:
    """The text of a token that carries some: a paragraph or heading's inline, code, or raw HTML."""
    if token.type == "inline":
        return inline_spans(token)
    text = token.content.strip()
    if not text:
        return []
    return [Span(text, code=token.type in ("fence", "code_block"))]


def read_container(tokens: list[Token], start: int) -> tuple[DraftBlock, int]:
    """A list or quote opening at ``start``, flattened to one level; returns it and its closing index.

    Every item of a nested list is an item of the outer list, in reading order (the text of an
    item after its sub-list is an item too); everything in a quote is a paragraph of the quote.
    The model and the EPUB render one level; flattening here means no text is ever dropped.
    """
    kind = CONTAINER_KINDS[tokens[start].type]
    parts: list[list[Span]] = []
    starts_part = True
    depth = 1
    index = start + 1
    while index < len(tokens):
        token = tokens[index]
        depth += token.nesting
        if depth == 0:
            break
        if token.type in ("list_item_open", "list_item_close") or token.meta.get("flattened"):
            starts_part = True
        elif token.type in CONTENT_TOKENS:
            spans = content_spans(token)
            if spans and (starts_part or not parts):
                parts.append(spans)
                starts_part = kind == "quote"
            elif spans:
                parts[-1] += [Span(" "), *spans]
        index += 1
    return DraftBlock(kind, parts), index


def parse_markdown(text: str, path: str) -> ParsedMarkdown:
    """Read Markdown into front matter, an optional title heading and chapter drafts."""
    tokens = markdown_parser().parse(text)
    front: dict[str, FrontValue] = {}
    items: list[Heading | DraftBlock] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "front_matter":
            front = load_front_matter(token.content, path)
        elif token.type == "heading_open":
            line = (token.map[0] + 1) if token.map else 0
            items.append(Heading(int(token.tag[1:]), inline_spans(tokens[index + 1]), line))
            index += 2
        elif token.type in CONTAINER_KINDS:
            block, index = read_container(tokens, index)
            items.append(block)
        elif token.type in CONTENT_TOKENS:
            spans = content_spans(token)
            if spans:
                items.append(DraftBlock("paragraph", [spans]))
        index += 1
    parsed = arrange(items, front)
    parsed.rating_lines = find_rating_lines(paragraph_lines(tokens))
    return parsed


def paragraph_lines(tokens: list[Token]) -> list[tuple[int, str]]:
    """``(line number, source text)`` of each line of paragraphs and list items, outside quotes.

    A quoted rating is someone else's, and a heading or a code block is not a line of the review.
    """
    lines: list[tuple[int, str]] = []
    quotes = 0
    for index, token in enumerate(tokens):
        if token.type == "blockquote_open":
            quotes += 1
        elif token.type == "blockquote_close":
            quotes -= 1
        elif token.type == "paragraph_open" and not quotes and token.map and index + 1 < len(tokens):
            content = tokens[index + 1].content
            lines += [(token.map[0] + 1 + offset, line) for offset, line in enumerate(content.split("\n"))]
    return lines


def arrange(items: list[Heading | DraftBlock], front: dict[str, FrontValue]) -> ParsedMarkdown:
    """Chapters from the shallowest heading level used, sections from the next one."""
    decisions: list[Decision] = []
    headings = [item for item in items if isinstance(item, Heading)]
    title: str | None = None
    if headings and items and items[0] is headings[0]:
        top = min(heading.level for heading in headings)
        if headings[0].level == top and sum(1 for heading in headings if heading.level == top) == 1:
            title = normalize_title(text_of(headings[0].spans)) or None
            rule = f"the only level-{top} heading, and it opens the document"
            decisions.append(Decision(headings[0].line, title or UNTITLED, "title", rule))
            items = items[1:]
            headings = headings[1:]
    levels = sorted({heading.level for heading in headings})
    chapter_level = levels[0] if levels else 1
    child_level = levels[1] if len(levels) > 1 else None
    sections: list[DraftSection] = []
    chapter: DraftSection | None = None
    target: DraftSection | None = None
    for item in items:
        if isinstance(item, Heading):
            heading_text = normalize_title(text_of(item.spans)) or UNTITLED
            if item.level == chapter_level or chapter is None:
                is_faq = FAQ_TITLE.match(heading_text) is not None
                chapter = DraftSection(
                    heading_text, ChapterRole.FAQ if is_faq else ChapterRole.CHAPTER, title_spans=item.spans
                )
                sections.append(chapter)
                target = chapter
                rule = f"level-{item.level} heading: the chapter level (the shallowest level used)"
                decisions.append(
                    Decision(item.line, heading_text, "heading", rule + ("; names the FAQ" if is_faq else ""))
                )
            elif item.level == child_level:
                role = ChapterRole.QUESTION if chapter.role == ChapterRole.FAQ else ChapterRole.SECTION
                target = DraftSection(heading_text, role, title_spans=item.spans)
                chapter.children.append(target)
                decisions.append(
                    Decision(
                        item.line, heading_text, "subheading", f"level-{item.level} heading: one below the chapters"
                    )
                )
            else:
                bold = [dataclasses.replace(span, strong=True) for span in item.spans]
                (target or chapter).blocks.append(DraftBlock("paragraph", [bold]))
                rule = (
                    f"level-{item.level} heading: deeper than sections, kept as a bold line "
                    f"(use level {child_level} for a section)"
                )
                decisions.append(Decision(item.line, heading_text, "body", rule))
        else:
            if target is None:
                chapter = DraftSection(INTRODUCTION_TITLE, ChapterRole.INTRODUCTION)
                sections.append(chapter)
                target = chapter
            target.blocks.append(item)
    return ParsedMarkdown(title=title, front_matter=front, sections=sections, decisions=decisions)
