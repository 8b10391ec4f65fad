"""Chapter, title page, cover and navigation documents as XHTML strings.

Every sentence and heading is wrapped in an element carrying its Sentence id, in both the
text and the read-aloud EPUB, so Media Overlays can point at it. All text goes through
``escape``, which also drops characters XML 1.0 forbids: a review full of ``<``, ``&``,
``]]>`` or stray control bytes still gives well-formed XHTML.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape as escape_markup
from xml.sax.saxutils import quoteattr

from reviewpub.document import NOT_IN_XML, Chapter, ChapterRole, Document, ListBlock, Paragraph, Sentence, Span

LINK_SCHEMES = ("http", "https", "mailto")
"""Link targets kept as links; anything else (``javascript:``, local files) would be dead or unsafe."""
URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~"
"""Characters left alone when percent-encoding a link (RFC 3986 reserved and unreserved)."""
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ps", "sd", "syr", "ug", "ur", "yi"})
"""Primary language subtags written right to left."""
TOP_LEVEL_SEMANTICS = {
    ChapterRole.INTRODUCTION: ("introduction", "doc-introduction"),
    ChapterRole.CHAPTER: ("chapter", "doc-chapter"),
    ChapterRole.SECTION: ("chapter", "doc-chapter"),
    ChapterRole.FAQ: ("chapter", "doc-chapter"),
    ChapterRole.QUESTION: ("chapter", "doc-chapter"),
}
"""epub:type and DPUB-ARIA role of a top-level ``<section>``; DPUB-ARIA has no role for a
question or a plain sub-section, so nested sections carry neither (a wrong role is worse than none)."""


def clean(text: str) -> str:
    """``text`` without the characters XML cannot carry."""
    return NOT_IN_XML.sub("", text)


def escape(text: str) -> str:
    """Text ready for XHTML content: markup characters escaped (``]]>`` too, via ``>``).

    A carriage return becomes a character reference, since an XML parser turns a literal one
    into a line feed and the span would no longer quote the source exactly.
    """
    return escape_markup(clean(text), {"\r": "&#13;"})


def attribute(text: str) -> str:
    """A quoted, escaped XML attribute value."""
    return quoteattr(clean(text))


def is_right_to_left(language: str) -> bool:
    """Whether a BCP 47 language tag names a right-to-left script."""
    primary = language.split("-")[0].lower()
    return primary in RTL_LANGUAGES or "-arab" in language.lower() or "-hebr" in language.lower()


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


def anchor_files(files: Iterable[ChapterFile]) -> dict[str, str]:
    """Every id a link may point at (chapters, sections, sentences) → the file holding it."""
    found: dict[str, str] = {}
    for item in files:
        for chapter in item.chapter.walk():
            found[chapter.id] = item.file_name
            for sentence in (chapter.heading, *chapter.body_sentences()):
                found[sentence.id] = item.file_name
    return found


def link_target(href: str, anchors: Mapping[str, str]) -> str | None:
    """Where a link may point inside the EPUB, or None to show its text without a link.

    Web and mail links are kept (percent-encoded where the source left spaces or quotes);
    ``#fragment`` links are kept when the fragment is a chapter or sentence of the document;
    anything else would be a dead link or a script, and EPUBCheck rejects dead links.
    """
    href = clean(href).strip()
    if href.startswith("#"):
        fragment = href[1:]
        return f"{anchors[fragment]}#{fragment}" if fragment in anchors else None
    scheme = urllib.parse.urlsplit(href).scheme.lower() if ":" in href else ""
    if scheme not in LINK_SCHEMES:
        return None
    encoded = urllib.parse.quote(href, safe=URL_SAFE)
    parts = urllib.parse.urlsplit(encoded)
    if scheme != "mailto" and not parts.netloc:
        return None
    return encoded


def render_span(span: Span, anchors: Mapping[str, str]) -> str:
    """One inline run with its styles, innermost first: code, em, strong, then the link."""
    text = escape(span.text)
    if span.code:
        text = f"<code>{text}</code>"
    if span.emphasis:
        text = f"<em>{text}</em>"
    if span.strong:
        text = f"<strong>{text}</strong>"
    target = link_target(span.href, anchors) if span.href else None
    if target is not None:
        text = f"<a href={attribute(target)}>{text}</a>"
    return text


def render_sentence(sentence: Sentence, anchors: Mapping[str, str] | None = None) -> str:
    """A sentence as ``<span id>`` with its inline styles: the unit Media Overlays highlight."""
    inner = "".join(render_span(span, anchors or {}) for span in sentence.spans)
    return f"<span id={attribute(sentence.id)}>{inner}</span>"


def render_sentences(sentences: Iterable[Sentence], anchors: Mapping[str, str]) -> str:
    """Sentences separated by spaces, as in the source."""
    return " ".join(render_sentence(sentence, anchors) for sentence in sentences)


def render_section(chapter: Chapter, depth: int, anchors: Mapping[str, str]) -> list[str]:
    """A chapter (depth 1) or section (depth 2+) as a ``<section>`` with its heading."""
    attributes = f" id={attribute(chapter.id)} aria-labelledby={attribute(chapter.heading.id)}"
    if depth == 1:
        epub_type, role = TOP_LEVEL_SEMANTICS[chapter.role]
        attributes += f' epub:type="{epub_type}" role="{role}"'
    level = min(depth, 6)
    lines = [f"<section{attributes}>", f"<h{level}>{render_sentence(chapter.heading, anchors)}</h{level}>"]
    for block in chapter.blocks:
        if isinstance(block, Paragraph):
            lines.append(f"<p>{render_sentences(block.sentences, anchors)}</p>")
        elif isinstance(block, ListBlock):
            tag = "ol" if block.ordered else "ul"
            items = "\n".join(f"<li>{render_sentences(item, anchors)}</li>" for item in block.items)
            lines.append(f"<{tag}>\n{items}\n</{tag}>")
        else:
            paragraphs = "\n".join(
                f"<p>{render_sentences(paragraph.sentences, anchors)}</p>" for paragraph in block.paragraphs
            )
            lines.append(f"<blockquote>\n{paragraphs}\n</blockquote>")
    for child in chapter.children:
        lines += render_section(child, depth + 1, anchors)
    lines.append("</section>")
    return lines


def page(title: str, language: str, body: Sequence[str], *, body_type: str = "", extra_head: str = "") -> str:
    """A complete XHTML document with ``lang`` and ``xml:lang`` (and ``dir`` for RTL languages)."""
    direction = ' dir="rtl"' if is_right_to_left(language) else ""
    body_attributes = f' epub:type="{body_type}"' if body_type else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"'
        f" lang={attribute(language)} xml:lang={attribute(language)}{direction}>\n"
        f'<head>\n<meta charset="utf-8"/>\n<title>{escape(title)}</title>\n'
        f'<link rel="stylesheet" type="text/css" href="style.css"/>\n{extra_head}</head>\n'
        f"<body{body_attributes}>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def render_chapter_xhtml(
    document: Document, chapter_file: ChapterFile, *, extra_head: str = "", anchors: Mapping[str, str] | None = None
) -> str:
    """The XHTML file of one top-level chapter, its sections nested inside it."""
    found = anchors if anchors is not None else anchor_files(chapter_files(document))
    return page(
        chapter_file.chapter.title,
        document.metadata.language,
        render_section(chapter_file.chapter, 1, found),
        body_type="bodymatter",
        extra_head=extra_head,
    )


def render_title_page(document: Document) -> str:
    """The title page: title, subtitle, author, what was reviewed and its rating, publisher, date and rights."""
    metadata = document.metadata
    lines = [
        '<section class="titlepage" epub:type="titlepage" aria-labelledby="title">',
        f'<h1 id="title">{escape(metadata.title)}</h1>',
    ]
    if metadata.subtitle:
        lines.append(f'<p class="subtitle">{escape(metadata.subtitle)}</p>')
    if metadata.author:
        lines.append(f'<p class="author">{escape(metadata.author)}</p>')
    if metadata.review_line:
        lines.append(f'<p class="reviewed">{escape(metadata.review_line)}</p>')
    for css_class, value in (("publisher", metadata.publisher), ("date", metadata.date), ("rights", metadata.rights)):
        if value:
            lines.append(f'<p class="{css_class}">{escape(value)}</p>')
    lines.append("</section>")
    return page(metadata.title, metadata.language, lines, body_type="frontmatter")


def render_cover_page(document: Document, image_name: str, alt_text: str) -> str:
    """The cover page: the cover image with alternative text."""
    lines = [
        '<section class="cover" epub:type="cover" aria-label="Cover">',
        f'<img role="doc-cover" src={attribute(image_name)} alt={attribute(alt_text)}/>',
        "</section>",
    ]
    return page(document.metadata.title, document.metadata.language, lines)


def render_nav(document: Document, files: Sequence[ChapterFile], *, cover_file: str, title_file: str) -> str:
    """nav.xhtml: the nested table of contents (sections under their chapter) and the landmarks."""

    def entry(chapter: Chapter, file_name: str, top: bool) -> str:
        href = file_name if top else f"{file_name}#{chapter.id}"
        children = "\n".join(entry(child, file_name, False) for child in chapter.children)
        nested = f"\n<ol>\n{children}\n</ol>\n" if children else ""
        return f"<li><a href={attribute(href)}>{escape(chapter.title)}</a>{nested}</li>"

    toc = "\n".join(entry(item.chapter, item.file_name, True) for item in files)
    lines = [
        '<nav epub:type="toc" id="toc" role="doc-toc" aria-labelledby="toc-title">',
        '<h1 id="toc-title">Contents</h1>',
        f"<ol>\n<li><a href={attribute(title_file)}>{escape(document.metadata.title)}</a></li>\n{toc}\n</ol>",
        "</nav>",
        '<nav epub:type="landmarks" id="landmarks" aria-labelledby="landmarks-title" hidden="hidden">',
        '<h2 id="landmarks-title">Landmarks</h2>',
        "<ol>",
        f'<li><a epub:type="cover" href={attribute(cover_file)}>Cover</a></li>',
        '<li><a epub:type="toc" href="nav.xhtml#toc">Contents</a></li>',
        f'<li><a epub:type="bodymatter" href={attribute(files[0].file_name)}>Start of content</a></li>',
        "</ol>",
        "</nav>",
    ]
    return page("Contents", document.metadata.language, lines)
