"""Chapter, title page, cover and navigation documents as XHTML strings.

Every sentence and heading is wrapped in an element carrying its Sentence id, in both the
text and the read-aloud EPUB, so Media Overlays can point at it. All text goes through
``escape``: a review full of ``<``, ``&`` and ``]]>`` still gives well-formed XHTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape as escape_text
from xml.sax.saxutils import quoteattr

from reviewpub.document import Chapter, ChapterRole, Document, ListBlock, Paragraph, Sentence

XHTML_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang={lang} xml:lang={lang}>\n'
    "<head>\n<meta charset=\"utf-8\"/>\n<title>{title}</title>\n"
    '<link rel="stylesheet" type="text/css" href="style.css"/>\n{extra}</head>\n'
)
SECTION_SEMANTICS = {
    ChapterRole.INTRODUCTION: ("introduction", "doc-introduction"),
    ChapterRole.CHAPTER: ("chapter", "doc-chapter"),
    ChapterRole.FAQ: ("chapter", "doc-chapter"),
}
"""epub:type and DPUB-ARIA role of top-level sections; sub-sections get neither."""


def escape(text: str) -> str:
    """Escape text for XHTML content (``]]>`` included, via ``>``)."""
    return escape_text(text)


@dataclass(frozen=True)
class ChapterFile:
    """Where a top-level chapter lives inside the EPUB."""

    chapter: Chapter
    number: int

    @property
    def file_name(self) -> str:
        """``01-introduction.xhtml``."""
        return f"{self.number:02d}-{self.chapter.id}.xhtml"


def chapter_files(document: Document) -> list[ChapterFile]:
    """One file per top-level chapter, numbered in reading order."""
    return [ChapterFile(chapter, number) for number, chapter in enumerate(document.chapters, start=1)]


def render_sentence(sentence: Sentence) -> str:
    """A sentence as ``<span id>`` with its inline styles."""
    pieces = []
    for span in sentence.spans:
        text = escape(span.text)
        if span.code:
            text = f"<code>{text}</code>"
        if span.emphasis:
            text = f"<em>{text}</em>"
        if span.strong:
            text = f"<strong>{text}</strong>"
        if span.href:
            text = f"<a href={quoteattr(span.href)}>{text}</a>"
        pieces.append(text)
    return f'<span id="{sentence.id}">{"".join(pieces)}</span>'


def render_sentences(sentences: Iterable[Sentence]) -> str:
    """Sentences separated by spaces, as in the source."""
    return " ".join(render_sentence(sentence) for sentence in sentences)


def render_chapter_body(chapter: Chapter, depth: int) -> list[str]:
    """A chapter (depth 1) or section (depth 2+) as a ``<section>`` with its heading."""
    epub_type, role = SECTION_SEMANTICS.get(chapter.role, ("", "")) if depth == 1 else ("", "")
    attributes = f' id="{chapter.id}" aria-labelledby="{chapter.heading.id}"'
    if epub_type:
        attributes += f' epub:type="{epub_type}" role="{role}"'
    level = min(depth, 6)
    lines = [f"<section{attributes}>", f"<h{level}>{render_sentence(chapter.heading)}</h{level}>"]
    for block in chapter.blocks:
        if isinstance(block, Paragraph):
            lines.append(f"<p>{render_sentences(block.sentences)}</p>")
        elif isinstance(block, ListBlock):
            tag = "ol" if block.ordered else "ul"
            items = "".join(f"<li>{render_sentences(item)}</li>" for item in block.items)
            lines.append(f"<{tag}>{items}</{tag}>")
        else:
            paragraphs = "".join(f"<p>{render_sentences(paragraph.sentences)}</p>" for paragraph in block.paragraphs)
            lines.append(f"<blockquote>{paragraphs}</blockquote>")
    for child in chapter.children:
        lines += render_chapter_body(child, depth + 1)
    lines.append("</section>")
    return lines


def page(title: str, language: str, body: Sequence[str], *, body_type: str = "", extra_head: str = "") -> str:
    """A complete XHTML document."""
    head = XHTML_HEAD.format(lang=quoteattr(language), title=escape(title), extra=extra_head)
    body_attributes = f' epub:type="{body_type}"' if body_type else ""
    return head + f"<body{body_attributes}>\n" + "\n".join(body) + "\n</body>\n</html>\n"


def render_chapter(document: Document, chapter_file: ChapterFile, *, extra_head: str = "") -> str:
    """The XHTML file of one top-level chapter, its sections inside it."""
    body_type = "bodymatter" if chapter_file.number == 1 else ""
    return page(
        chapter_file.chapter.title, document.metadata.language, render_chapter_body(chapter_file.chapter, 1),
        body_type=body_type, extra_head=extra_head,
    )


def render_title_page(document: Document) -> str:
    """The title page: title, subtitle, author, publisher, date."""
    metadata = document.metadata
    lines = ['<section class="titlepage" epub:type="titlepage" aria-label="Title page">']
    lines.append(f"<h1>{escape(metadata.title)}</h1>")
    if metadata.subtitle:
        lines.append(f'<p class="subtitle">{escape(metadata.subtitle)}</p>')
    if metadata.author:
        lines.append(f'<p class="author">{escape(metadata.author)}</p>')
    for extra in (metadata.publisher, metadata.date, metadata.rights):
        if extra:
            lines.append(f"<p>{escape(extra)}</p>")
    lines.append("</section>")
    return page(metadata.title, metadata.language, lines, body_type="frontmatter")


def render_cover_page(document: Document, image_name: str, alt_text: str) -> str:
    """The cover page: the cover image with alternative text."""
    lines = [
        '<section class="cover" epub:type="cover" aria-label="Cover">',
        f'<img role="doc-cover" src="{image_name}" alt={quoteattr(alt_text)}/>',
        "</section>",
    ]
    return page(document.metadata.title, document.metadata.language, lines)


def render_nav(document: Document, files: list[ChapterFile], *, cover_file: str, title_file: str) -> str:
    """nav.xhtml: a nested table of contents and the landmarks."""

    def entries(chapter: Chapter, file_name: str, top: bool) -> str:
        href = file_name if top else f"{file_name}#{chapter.id}"
        children = "".join(entries(child, file_name, False) for child in chapter.children)
        nested = f"<ol>{children}</ol>" if children else ""
        return f'<li><a href="{href}">{escape(chapter.title)}</a>{nested}</li>'

    toc = "".join(entries(item.chapter, item.file_name, True) for item in files)
    lines = [
        '<nav epub:type="toc" id="toc" role="doc-toc" aria-labelledby="toc-title">',
        '<h1 id="toc-title">Contents</h1>',
        f'<ol><li><a href="{title_file}">{escape(document.metadata.title)}</a></li>{toc}</ol>',
        "</nav>",
        '<nav epub:type="landmarks" id="landmarks" aria-labelledby="landmarks-title" hidden="hidden">',
        '<h2 id="landmarks-title">Landmarks</h2>',
        "<ol>",
        f'<li><a epub:type="cover" href="{cover_file}">Cover</a></li>',
        '<li><a epub:type="toc" href="nav.xhtml#toc">Contents</a></li>',
        f'<li><a epub:type="bodymatter" href="{files[0].file_name}">Start of content</a></li>',
        "</ol>",
        "</nav>",
    ]
    return page("Contents", document.metadata.language, lines)
