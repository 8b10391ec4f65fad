"""The listening site: ``output/NAME/index.html`` for each review and ``output/index.html``.

A review's page has a player for the whole-review MP3, a chapter list that seeks it, the
text with every sentence in an element carrying its id (highlighted in sync by ``site.js``
from the read-aloud EPUB's own timings, embedded in the page), downloads, a subscribe link
and schema.org JSON-LD. The index lists every review with a player. Pages are hand-written
HTML5 with one stylesheet and one small script shipped beside them: nothing is requested
from any other host, every link is relative (so ``reviewpub serve`` and ``file://`` both
work), and the page reads in full with scripts off. Same input, same bytes: no clock.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.document import Chapter, ListBlock, Paragraph, Rating, Sentence
from reviewpub.files import atomic_write
from reviewpub.layout import (
    COVER_NAME,
    PAGE_NAME,
    SCRIPT_NAME,
    STYLESHEET_NAME,
    TRANSCRIPT_TEXT_NAME,
    TRANSCRIPT_VTT_NAME,
    book_mp3_name,
    epub_name,
    from_review,
    in_review,
    m4b_name,
    read_aloud_name,
)
from reviewpub.writers.chapters import chapter_spans
from reviewpub.writers.overlays import overlay_clips
from reviewpub.writers.xhtml import clean, is_right_to_left, render_span

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.narration.model import Narration

ASSET_NAMES = (STYLESHEET_NAME, SCRIPT_NAME)
COVER_SIDE = 3000
"""The square artwork's side in pixels (``make_square_artwork``), so the browser reserves its space."""
CAPTIONS_NAME = TRANSCRIPT_VTT_NAME
"""The page's captions track: the whole-review WebVTT."""
TIMINGS_ID = "sentence-timings"


@dataclass(frozen=True)
class SiteLinks:
    """Where a review page's downloads and subscribe link point, relative to ``output/NAME/``."""

    feed: str
    """The feed to subscribe to: the show's (``../feed.xml``) or the review's own (``feed.xml``)."""
    base_url: str | None = None
    """The public address of ``output/NAME/``, for the absolute URLs JSON-LD wants; None: relative."""


@dataclass(frozen=True)
class IndexEntry:
    """One review as the index lists it."""

    name: str
    title: str
    language: str
    duration_s: float
    published: dt.date | None = None
    """Shown only when known (front matter ``date``, or the show's first-built date)."""
    rating: Rating | None = None
    item: str | None = None
    feed: str | None = None
    """The review's own feed, linked when there is no show feed to subscribe to."""


def escape(text: str) -> str:
    """Text ready for HTML content or a quoted attribute (controls HTML forbids dropped)."""
    return html.escape(clean(text), quote=True)


def script_json(value: Any, *, indent: int | None = 1) -> str:
    """JSON that is safe inside ``<script>``: ``<``, ``>`` and ``&`` as escapes, so a title
    holding ``</script>`` or ``<!--`` cannot end the element early."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def number(value: float) -> int | float:
    """``4`` rather than ``4.0``, ``8.5`` as it is: a score as the reviewer wrote it."""
    return int(value) if float(value).is_integer() else value


def clock(seconds: float) -> str:
    """``1:02:03`` or ``2:03``: a time as a listener reads it."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration (``PT3M12.5S``), as schema.org ``duration`` wants."""
    whole_minutes, rest = divmod(round(seconds, 3), 60)
    hours, minutes = divmod(int(whole_minutes), 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + f"{rest:g}S" if rest or text == "PT" else text


def duration_element(seconds: float) -> str:
    """``<time datetime="PT3M12S">3:12</time>``: the length shown, and machine-readable."""
    return f'<time datetime="{iso_duration(round(seconds))}">{clock(seconds)}</time> long'


def parse_date(value: str | None) -> dt.date | None:
    """A front matter date as a date, or None when it is absent or not ISO 8601."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def shown_date(day: dt.date) -> str:
    """``1 March 2024``: the same in every locale the build runs in."""
    months = (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    )
    return f"{day.day} {months[day.month - 1]} {day.year}"


def sentence_timings(document: Document, narration: Narration) -> list[tuple[str, float, float]]:
    """(sentence id, start s, end s) of every narrated sentence in the whole-review audio.

    The read-aloud EPUB's clips (``overlay_clips``: they tile each chapter's audio), shifted by
    where each chapter starts in the whole-review MP3 (the spans of its chapter marks).
    """
    sentence_ids = {sentence.id for sentence in document.sentences()}
    timings = []
    for chapter, (start_s, _) in zip(narration.chapters, chapter_spans(narration)):
        for clip in overlay_clips(chapter, sentence_ids):
            timings.append(
                (clip.sentence_id, round(start_s + clip.begin_ms / 1000, 3), round(start_s + clip.end_ms / 1000, 3))
            )
    return timings


def render_sentence(sentence: Sentence, anchors: dict[str, str]) -> str:
    """A sentence as ``<span class="sentence" id>``: the unit the player highlights."""
    inner = "".join(render_span(span, anchors) for span in sentence.spans)
    return f'<span class="sentence" id="{escape(sentence.id)}">{inner}</span>'


def render_text_section(chapter: Chapter, depth: int, anchors: dict[str, str]) -> list[str]:
    """A chapter (``<h2>``) or section (``<h3>`` and down) with its blocks, as HTML."""
    level = min(depth + 1, 6)
    lines = [
        f'<section id="{escape(chapter.id)}" aria-labelledby="{escape(chapter.heading.id)}">',
        f"<h{level}>{render_sentence(chapter.heading, anchors)}</h{level}>",
    ]

    def sentences(items: Sequence[Sentence]) -> str:
        return " ".join(render_sentence(sentence, anchors) for sentence in items)

    for block in chapter.blocks:
        if isinstance(block, Paragraph):
            lines.append(f"<p>{sentences(block.sentences)}</p>")
        elif isinstance(block, ListBlock):
            tag = "ol" if block.ordered else "ul"
            items = "\n".join(f"<li>{sentences(item)}</li>" for item in block.items)
            lines.append(f"<{tag}>\n{items}\n</{tag}>")
        else:
            paragraphs = "\n".join(f"<p>{sentences(paragraph.sentences)}</p>" for paragraph in block.paragraphs)
            lines.append(f"<blockquote>\n{paragraphs}\n</blockquote>")
    for child in chapter.children:
        lines += render_text_section(child, depth + 1, anchors)
    lines.append("</section>")
    return lines


def page_anchors(document: Document) -> dict[str, str]:
    """Every chapter and sentence id → "" : on one page an in-text link is just ``#id``."""
    anchors: dict[str, str] = {}
    for chapter in document.walk():
        anchors[chapter.id] = ""
        for sentence in (chapter.heading, *chapter.body_sentences()):
            anchors[sentence.id] = ""
    return anchors


def url(base_url: str | None, relative: str) -> str:
    """An absolute URL under ``base_url`` when there is one, else the relative path."""
    from reviewpub.writers.feed import file_url

    return file_url(base_url, relative) if base_url else relative


def review_json_ld(document: Document, narration: Narration, text: str, links: SiteLinks) -> dict[str, Any]:
    """schema.org ``Review`` with the narration as an ``AudioObject``; the item and the rating
    only when the review states them (a rating is never invented)."""
    from reviewpub.writers.feed import summary

    metadata = document.metadata
    description = metadata.description or (summary(document.chapters[0], 3) if document.chapters else metadata.title)
    review: dict[str, Any] = {"@context": "https://schema.org", "@type": "Review", "name": metadata.title}
    if metadata.author:
        review["author"] = {"@type": "Person", "name": metadata.author}
    published = parse_date(metadata.date)
    if published is not None:
        review["datePublished"] = published.isoformat()
    review["inLanguage"] = metadata.language
    review["description"] = description
    if metadata.item:
        review["itemReviewed"] = {"@type": metadata.item_type or "Thing", "name": metadata.item}
    if metadata.rating is not None:
        rating = metadata.rating
        review["reviewRating"] = {
            "@type": "Rating",
            "ratingValue": number(rating.value),
            "bestRating": number(rating.best),
            "worstRating": number(rating.worst),
        }
    review["image"] = url(links.base_url, COVER_NAME)
    review["audio"] = {
        "@type": "AudioObject",
        "name": metadata.title,
        "contentUrl": url(links.base_url, book_mp3_name(document.name)),
        "encodingFormat": "audio/mpeg",
        "duration": iso_duration(narration.duration_s),
        "inLanguage": metadata.language,
        "transcript": text,
    }
    return review


def html_page(
    *,
    title: str,
    language: str,
    head: Sequence[str],
    header: Sequence[str],
    main: Sequence[str],
    footer: Sequence[str],
    scripts: Sequence[str] = (),
) -> str:
    """A whole HTML5 page with the landmarks every page has: skip link, header, main, footer."""
    direction = ' dir="rtl"' if is_right_to_left(language) else ""
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(language)}"{direction}>',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        # No icon: otherwise a browser asks every server for /favicon.ico, which is not there.
        '<link rel="icon" href="data:,">',
        *head,
        f'<link rel="stylesheet" href="{STYLESHEET_NAME}">',
        "</head>",
        "<body>",
        '<a class="skip-link" href="#main">Skip to content</a>',
        '<header class="site-header">',
        *header,
        "</header>",
        '<main id="main" tabindex="-1">',
        *main,
        "</main>",
        '<footer class="site-footer">',
        *footer,
        "</footer>",
        *scripts,
        "</body>",
        "</html>",
    ]
    return "\n".join(lines) + "\n"


def rating_line(rating: Rating | None, item: str | None) -> list[str]:
    """``Rating: 4/5`` (and what was reviewed) when the review gives them; nothing otherwise."""
    lines = []
    if item:
        lines.append(f'<p class="meta">Reviewed: {escape(item)}</p>')
    if rating is not None:
        lines.append(f'<p class="meta">Rating: <strong>{escape(str(rating))}</strong></p>')
    return lines


def render_review_page(document: Document, narration: Narration, links: SiteLinks) -> str:
    """The listening page of one review (``output/NAME/index.html``)."""
    from reviewpub.writers.transcript import render_review_text

    metadata = document.metadata
    name = document.name
    language = metadata.language
    anchors = page_anchors(document)
    json_ld = review_json_ld(document, narration, render_review_text(document), links)
    feed_type = "application/rss+xml"
    head = [
        f'<meta name="description" content="{escape(json_ld["description"])}">',
        f'<link rel="alternate" type="{feed_type}" title="Podcast feed" href="{escape(links.feed)}">',
        f'<script type="application/ld+json">\n{script_json(json_ld)}\n</script>',
    ]
    header = [
        '<nav aria-label="Site">',
        "<ul>",
        f'<li><a href="{from_review(PAGE_NAME)}">All reviews</a></li>',
        f'<li><a href="{escape(links.feed)}" class="subscribe">Subscribe</a></li>',
        "</ul>",
        "</nav>",
    ]

    byline = []
    if metadata.author:
        byline.append(f"by {escape(metadata.author)}")
    published = parse_date(metadata.date)
    if published is not None:
        byline.append(f'<time datetime="{published.isoformat()}">{shown_date(published)}</time>')
    byline.append(duration_element(narration.duration_s))

    chapter_items = []
    for spoken, (start_s, _) in zip(narration.chapters, chapter_spans(narration)):
        chapter_items.append(
            f'<li><a href="#{escape(spoken.chapter_id)}" data-start="{start_s:.3f}">{escape(spoken.title)}</a> '
            f'<span class="chapter-time">{clock(start_s)}</span></li>'
        )

    text: list[str] = []
    for chapter in document.chapters:
        text += render_text_section(chapter, 1, anchors)

    downloads = [
        (from_review(epub_name(name)), "EPUB (text)"),
        (read_aloud_name(name), "Read-aloud EPUB (text and narration)"),
        (m4b_name(name), "Audiobook (M4B, with chapters)"),
        (book_mp3_name(name), "MP3 (whole review, with chapters)"),
        (TRANSCRIPT_TEXT_NAME, "Transcript (plain text)"),
        (CAPTIONS_NAME, "Captions (WebVTT)"),
        (links.feed, "Podcast feed (RSS)"),
    ]
    timings = {"sentences": [list(timing) for timing in sentence_timings(document, narration)]}

    main = [
        '<article aria-labelledby="review-title">',
        '<div class="review-header">',
        f'<img class="cover" src="{COVER_NAME}" width="{COVER_SIDE}" height="{COVER_SIDE}" '
        f'alt="{escape("Cover: " + metadata.title)}">',
        f'<h1 id="review-title">{escape(metadata.title)}</h1>',
        *([f'<p class="meta">{escape(metadata.subtitle)}</p>'] if metadata.subtitle else []),
        f'<p class="meta">{" · ".join(byline)}</p>',
        *rating_line(metadata.rating, metadata.item),
        "</div>",
        '<section class="listen" aria-labelledby="listen-title">',
        '<h2 id="listen-title">Listen</h2>',
        f'<audio id="player" controls preload="metadata" src="{escape(book_mp3_name(name))}" '
        f'aria-label="{escape("Narration of " + metadata.title)}">',
        # Not "default": a browser would then load it at once, and Chromium refuses any
        # track from file:// with a console error; the highlighted text is the live caption.
        f'<track kind="captions" src="{CAPTIONS_NAME}" srclang="{escape(language)}" label="Captions">',
        f'<a href="{escape(book_mp3_name(name))}">Download the MP3</a>',
        "</audio>",
        f'<p class="meta">Narrated by {escape(narration.engine)} ({escape(narration.voice)}), a synthetic voice.</p>',
        "</section>",
        '<nav class="chapters" aria-labelledby="chapters-title">',
        '<h2 id="chapters-title">Chapters</h2>',
        "<ol>",
        *chapter_items,
        "</ol>",
        "</nav>",
        '<div class="review-text">',
        *text,
        "</div>",
        '<section class="downloads" aria-labelledby="downloads-title">',
        '<h2 id="downloads-title">Downloads</h2>',
        "<ul>",
        *(f'<li><a href="{escape(href)}">{escape(label)}</a></li>' for href, label in downloads),
        "</ul>",
        "</section>",
        "</article>",
    ]
    footer = [f'<p>Made with reviewpub. <a href="{escape(links.feed)}">Subscribe to the podcast</a>.</p>']
    scripts = [
        f'<script type="application/json" id="{TIMINGS_ID}">\n{script_json(timings, indent=None)}\n</script>',
        f'<script src="{SCRIPT_NAME}"></script>',
    ]
    return html_page(
        title=metadata.title, language=language, head=head, header=header, main=main, footer=footer, scripts=scripts
    )


def render_index(
    title: str, language: str, entries: Sequence[IndexEntry], feed: str | None, description: str = ""
) -> str:
    """``output/index.html``: every review, newest first, each with a player and its page."""
    items = []
    for entry in entries:
        name = escape(entry.name)
        meta = []
        if entry.published is not None:
            meta.append(f'<time datetime="{entry.published.isoformat()}">{shown_date(entry.published)}</time>')
        meta.append(duration_element(entry.duration_s))
        heading_id = f"episode-{name}"
        items += [
            f'<li class="episode" lang="{escape(entry.language)}">',
            f'<img class="cover" src="{in_review(name, COVER_NAME)}" width="{COVER_SIDE}" height="{COVER_SIDE}" '
            'alt="">',
            "<div>",
            f'<h2 id="{heading_id}"><a href="{in_review(name, PAGE_NAME)}">{escape(entry.title)}</a></h2>',
            f'<p class="meta">{" · ".join(meta)}</p>',
            *rating_line(entry.rating, entry.item),
            f'<audio controls preload="none" src="{in_review(name, book_mp3_name(name))}" '
            f'aria-label="{escape("Listen to " + entry.title)}">',
            f'<a href="{in_review(name, book_mp3_name(name))}">Download the MP3</a>',
            "</audio>",
            *(
                [f'<p><a class="subscribe" href="{escape(entry.feed)}">Subscribe to this review</a></p>']
                if entry.feed
                else []
            ),
            "</div>",
            "</li>",
        ]
    header = [
        '<nav aria-label="Site">',
        "<ul>",
        f'<li><a href="{PAGE_NAME}" aria-current="page">All reviews</a></li>',
        *([f'<li><a href="{escape(feed)}" class="subscribe">Subscribe</a></li>'] if feed else []),
        "</ul>",
        "</nav>",
    ]
    main = [
        f"<h1>{escape(title)}</h1>",
        *([f"<p>{escape(description)}</p>"] if description else []),
        *(
            [
                f'<p><a href="{escape(feed)}" class="subscribe">Subscribe to the podcast</a> '
                "(paste this link into a podcast app).</p>"
            ]
            if feed
            else []
        ),
        '<ul class="episodes">',
        *items,
        "</ul>",
    ]
    footer = ["<p>Made with reviewpub.</p>"]
    head = (
        [f'<link rel="alternate" type="application/rss+xml" title="Podcast feed" href="{escape(feed)}">']
        if feed
        else []
    )
    return html_page(title=title, language=language, head=head, header=header, main=main, footer=footer)


def asset_bytes(name: str) -> bytes:
    """A stylesheet or script shipped with reviewpub (package data)."""
    return resources.files("reviewpub.writers").joinpath("site_assets", name).read_bytes()


def write_text(path: Path, content: str | bytes) -> Path:
    """Write one page or asset atomically."""
    with atomic_write(path) as handle:
        handle.write(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def write_assets(folder: Path) -> list[Path]:
    """``site.css`` and ``site.js`` into ``folder``, so its pages need nothing outside it."""
    return [write_text(Path(folder) / name, asset_bytes(name)) for name in ASSET_NAMES]


def write_review_page(document: Document, narration: Narration, folder: Path, links: SiteLinks) -> list[Path]:
    """Write ``index.html`` and its stylesheet and script into ``folder`` (a staged ``output/NAME``)."""
    page = write_text(Path(folder) / PAGE_NAME, render_review_page(document, narration, links))
    return [page, *write_assets(folder)]


def write_index(
    output: Path, title: str, language: str, entries: Sequence[IndexEntry], feed: str | None, description: str = ""
) -> list[Path]:
    """Write ``output/index.html`` with its stylesheet (``site.js`` is for review pages only)."""
    page = write_text(Path(output) / PAGE_NAME, render_index(title, language, entries, feed, description))
    return [page, write_text(Path(output) / STYLESHEET_NAME, asset_bytes(STYLESHEET_NAME))]
