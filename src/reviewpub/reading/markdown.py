"""Markdown reviews through markdown-it-py: headings, front matter, lists, quotes, inline styles."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from reviewpub.document import ChapterRole, Decision, Span
from reviewpub.reading.front_matter import FrontValue, load_front_matter
from reviewpub.reading.plaintext import FAQ_TITLE, INTRODUCTION_TITLE
from reviewpub.reading.structure import UNTITLED, DraftBlock, DraftSection, normalize_title, text_of


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


def parse_markdown(text: str, path: str) -> ParsedMarkdown:
    """Read Markdown into front matter, an optional title heading and chapter drafts."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.front_matter import front_matter_plugin

    parser = MarkdownIt("commonmark").use(front_matter_plugin)
    tokens = parser.parse(text)
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
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            kind = "list" if token.type == "bullet_list_open" else "ordered"
            close = token.type.replace("_open", "_close")
            depth = 0
            parts: list[list[Span]] = []
            index += 1
            while index < len(tokens) and not (tokens[index].type == close and depth == 0):
                inner = tokens[index]
                if inner.type == token.type:
                    depth += 1
                elif inner.type == close:
                    depth -= 1
                elif inner.type == "list_item_open" and depth == 0:
                    parts.append([])
                elif inner.type == "inline" and parts:
                    if parts[-1]:
                        parts[-1].append(Span(" "))
                    parts[-1].extend(inline_spans(inner))
                index += 1
            items.append(DraftBlock(kind, [part for part in parts if part]))
        elif token.type == "blockquote_open":
            depth = 0
            paragraphs: list[list[Span]] = []
            index += 1
            while index < len(tokens) and not (tokens[index].type == "blockquote_close" and depth == 0):
                inner = tokens[index]
                if inner.type == "blockquote_open":
                    depth += 1
                elif inner.type == "blockquote_close":
                    depth -= 1
                elif inner.type == "inline":
                    paragraphs.append(inline_spans(inner))
                index += 1
            items.append(DraftBlock("quote", [spans for spans in paragraphs if spans]))
        elif token.type == "inline":
            items.append(DraftBlock("paragraph", [inline_spans(token)]))
        elif token.type in ("fence", "code_block"):
            items.append(DraftBlock("paragraph", [[Span(token.content.strip(), code=True)]]))
        elif token.type == "html_block":
            items.append(DraftBlock("paragraph", [[Span(token.content.strip())]]))
        index += 1
    return arrange(items, front)


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
                chapter = DraftSection(heading_text, ChapterRole.FAQ if is_faq else ChapterRole.CHAPTER, title_spans=item.spans)
                sections.append(chapter)
                target = chapter
                rule = f"level-{item.level} heading: the chapter level (the shallowest level used)"
                decisions.append(Decision(item.line, heading_text, "heading", rule + ("; names the FAQ" if is_faq else "")))
            elif item.level == child_level:
                role = ChapterRole.QUESTION if chapter.role == ChapterRole.FAQ else ChapterRole.SECTION
                target = DraftSection(heading_text, role, title_spans=item.spans)
                chapter.children.append(target)
                decisions.append(Decision(item.line, heading_text, "subheading", f"level-{item.level} heading: one below the chapters"))
            else:
                bold = [dataclasses.replace(span, strong=True) for span in item.spans]
                (target or chapter).blocks.append(DraftBlock("paragraph", [bold]))
                rule = f"level-{item.level} heading: deeper than sections, kept as a bold line (use level {child_level} for a section)"
                decisions.append(Decision(item.line, heading_text, "body", rule))
        else:
            if target is None:
                chapter = DraftSection(INTRODUCTION_TITLE, ChapterRole.INTRODUCTION)
                sections.append(chapter)
                target = chapter
            target.blocks.append(item)
    return ParsedMarkdown(title=title, front_matter=front, sections=sections, decisions=decisions)
