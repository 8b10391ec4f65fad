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
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.document import Rating
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
from reviewpub.writers.site_html import clock, duration_element, escape, html_page, rating_line, script_json, shown_date
from reviewpub.writers.site_json_ld import parse_date, review_json_ld
from reviewpub.writers.site_text import page_anchors, render_text_section, sentence_timings

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
