"""The podcast feed: RSS 2.0 with the iTunes and the Podcasting 2.0 (``podcast:``) namespaces.

``write_feed`` is one review's feed: one episode per chapter, in order, with its MP3, its
WebVTT/SRT transcript and its first sentences as description (after what was reviewed and
its rating, when the review gives them), plus a bonus episode holding
the whole book as one MP3 with its ``chapters.json``. The feed of a folder of reviews, the
show, is ``writers.show_feed``; it builds on the RSS pieces here (``sub``, ``file_url``, dates).

Written with the standard library's ElementTree rather than feedgen, which knows nothing of
the ``podcast:`` namespace (transcripts, chapters, guid, locked); lxml would add nothing here.
The serializer escapes every text and attribute (characters XML 1.0 cannot carry at all are
dropped first) and keeps attributes in the order given, so the same inputs give the same bytes.

Enclosure URLs are absolute, built from ``base_url`` (where the folder will be published).
Without one they start with ``DEFAULT_BASE_URL``, the address ``reviewpub serve`` listens on
by default; the server rewrites that prefix to the address each request came to.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import re
import urllib.parse
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub import __version__
from reviewpub.document import block_sentences
from reviewpub.errors import WriterError
from reviewpub.files import atomic_write
from reviewpub.layout import CHAPTERS_NAME, COVER_NAME, FEED_NAME, ReviewLayout, book_mp3_name
from reviewpub.podcast import DEFAULT_CATEGORY, feed_base_url
from reviewpub.writers.chapters import CHAPTERS_MEDIA_TYPE

if TYPE_CHECKING:
    from reviewpub.document import Chapter, Document, Metadata
    from reviewpub.narration.model import Narration

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
"""The namespace's current address (podcastparser 0.6 only knows an older one; apps know this)."""
ATOM = "http://www.w3.org/2005/Atom"
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
"""The UUIDv5 namespace the podcast namespace specifies for ``podcast:guid``."""
SUMMARY_SENTENCES = 2
NOT_XML_CHARACTERS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry even escaped (C0 controls, lone surrogates, U+FFFE/FFFF)."""

for prefix, namespace in (("itunes", ITUNES), ("podcast", PODCAST), ("atom", ATOM)):
    ElementTree.register_namespace(prefix, namespace)


def file_url(base: str, relative: str) -> str:
    """The URL of a file of the folder (name percent-encoded, ``/`` kept)."""
    return base + urllib.parse.quote(relative, safe="/")


def podcast_guid(feed_url: str) -> str:
    """``podcast:guid``: UUIDv5 of the feed URL without its scheme and trailing slashes."""
    address = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", feed_url).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, address))


def itunes_duration(seconds: float) -> str:
    """``HH:MM:SS`` for ``itunes:duration``."""
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def summary(chapter: Chapter, sentences: int = SUMMARY_SENTENCES) -> str:
    """The first sentences of a chapter's body (its sections' when it has none of its own)."""
    found = [
        sentence.text for section in chapter.walk() for block in section.blocks for sentence in block_sentences(block)
    ]
    return " ".join(" ".join(found[:sentences]).split()) or chapter.title


def with_review_line(metadata: Metadata, description: str) -> str:
    """``description`` after what was reviewed and its rating, when the review says (never invented)."""
    return f"{metadata.review_line} {description}" if metadata.review_line else description


def publication_date(document: Document) -> dt.datetime:
    """The document's date at noon UTC, else its modification time: never the clock."""
    metadata = document.metadata
    if metadata.date:
        try:
            day = dt.date.fromisoformat(metadata.date[:10])
        except ValueError:
            pass
        else:
            return dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.timezone.utc)
    return metadata.modified


def rfc2822(moment: dt.datetime) -> str:
    """A date as RSS wants it, in UTC (``Fri, 19 Jan 2024 12:00:00 +0000``); naive means UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)
    return email.utils.format_datetime(aware.astimezone(dt.timezone.utc))


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (the serializer escapes the rest)."""
    return NOT_XML_CHARACTERS.sub("", text)


def as_html(text: str) -> str:
    """Plain text as an HTML paragraph, what readers take an item's ``<description>`` to be.

    The explicit ``<p>`` tells heuristic readers (gPodder's) it is HTML, so a sentence's
    own ``<`` or ``&`` is shown, not taken for a tag and dropped.
    """
    return f"<p>{html.escape(text, quote=False)}</p>"


def narrator(narration: Narration) -> str:
    """``piper (en_US-joe-medium)``: the engine and voice that read the feed's audio."""
    return f"{narration.engine} ({narration.voice})"


def sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str) -> ElementTree.Element:
    """Add a child element with optional text and attributes, made XML-safe."""
    element = ElementTree.SubElement(parent, tag, {name: xml_safe(value) for name, value in attributes.items()})
    if text is not None:
        element.text = xml_safe(text)
    return element


def file_size(folder: Path, relative: str) -> int:
    """Exact byte length of a file of the folder, for an enclosure.

    Raises:
        WriterError: the file is not there (the feed would announce a missing episode).
    """
    try:
        return (folder / relative).stat().st_size
    except FileNotFoundError:
        raise WriterError(
            f"{folder / relative}: missing; write the audio before the feed (`reviewpub build` does both)"
        ) from None


def write_feed(
    document: Document,
    narration: Narration,
    folder: Path,
    path: Path,
    *,
    base_url: str | None,
    category: tuple[str, ...] | None,
    explicit: bool = False,
) -> Path:
    """Write the podcast feed of a built folder to ``path`` (usually ``folder/feed.xml``).

    ``folder`` holds ``audio/NN-<chapter>.mp3``, ``captions/NN-<chapter>.vtt`` and ``.srt``,
    ``<name>.mp3``, ``chapters.json`` and ``cover.jpg``; links to the optional ones are
    written when the file exists. ``category`` is Apple's category then subcategory.

    Raises:
        SettingsError: ``base_url`` is not an absolute http(s) URL.
        WriterError: a chapter MP3 is missing, or the narration is of another document.
    """
    metadata = document.metadata
    base = feed_base_url(base_url)
    folder = Path(folder)
    chapters = {chapter.id: chapter for chapter in document.chapters}
    author = metadata.author or "reviewpub"
    description = with_review_line(
        metadata, metadata.description or (summary(document.chapters[0], 3) if document.chapters else metadata.title)
    )
    rating = "true" if explicit else "false"

    rss = ElementTree.Element("rss", {"version": "2.0"})
    channel = sub(rss, "channel")
    sub(channel, "title", metadata.title)
    sub(channel, "link", base)
    sub(channel, f"{{{ATOM}}}link", href=file_url(base, FEED_NAME), rel="self", type="application/rss+xml")
    sub(channel, "description", description)
    sub(channel, "language", metadata.language)
    # Listeners and directories are told the voice is synthetic, and which it is.
    sub(channel, "generator", f"reviewpub {__version__}, narrated by {narrator(narration)}")
    sub(channel, "lastBuildDate", rfc2822(metadata.modified))
    if metadata.rights:
        sub(channel, "copyright", metadata.rights)
    image = sub(channel, "image")
    sub(image, "url", file_url(base, COVER_NAME))
    sub(image, "title", metadata.title)
    sub(image, "link", base)
    sub(channel, f"{{{ITUNES}}}image", href=file_url(base, COVER_NAME))
    sub(channel, f"{{{ITUNES}}}author", author)
    owner = sub(channel, f"{{{ITUNES}}}owner")
    sub(owner, f"{{{ITUNES}}}name", metadata.publisher or author)
    sub(channel, f"{{{ITUNES}}}summary", description)
    sub(channel, f"{{{PODCAST}}}txt", narrator(narration), purpose="narrator")
    parent = channel
    for name in (category or DEFAULT_CATEGORY)[:2]:
        parent = ElementTree.SubElement(parent, f"{{{ITUNES}}}category", {"text": xml_safe(name)})
    sub(channel, f"{{{ITUNES}}}explicit", rating)
    sub(channel, f"{{{ITUNES}}}type", "serial")
    sub(channel, f"{{{PODCAST}}}locked", "no")
    if base_url is not None:
        # Only a real address identifies the podcast: one made from the placeholder would be
        # shared by every feed anyone serves without --base-url.
        sub(channel, f"{{{PODCAST}}}guid", podcast_guid(file_url(base, FEED_NAME)))

    published = publication_date(document)
    for chapter_narration in narration.chapters:
        chapter = chapters.get(chapter_narration.chapter_id)
        if chapter is None:
            raise WriterError(
                f"{path}: the narration has a chapter {chapter_narration.chapter_id!r} the document "
                "lacks; build again so both come from the same source"
            )
        stem = chapter_narration.file_stem
        item = add_item(
            channel,
            base,
            folder,
            title=chapter_narration.title,
            description=with_review_line(metadata, summary(chapter)),
            guid=f"{metadata.identifier}#{chapter.id}",
            published=published + dt.timedelta(minutes=chapter_narration.number),
            audio=ReviewLayout.chapter_mp3_link(stem),
            seconds=chapter_narration.duration_s,
            rating=rating,
        )
        sub(item, f"{{{ITUNES}}}episode", str(chapter_narration.number))
        sub(item, f"{{{ITUNES}}}episodeType", "full")
        for suffix, media_type, role in ((".vtt", "text/vtt", "captions"), (".srt", "application/x-subrip", None)):
            transcript = ReviewLayout.chapter_captions_link(stem, suffix)
            if (folder / transcript).is_file():
                extra = {"rel": role} if role else {}
                sub(
                    item,
                    f"{{{PODCAST}}}transcript",
                    url=file_url(base, transcript),
                    type=media_type,
                    language=metadata.language,
                    **extra,
                )

    book = book_mp3_name(document.name)
    if (folder / book).is_file():
        item = add_item(
            channel,
            base,
            folder,
            title=f"{metadata.title} (complete)",
            description=description,
            guid=f"{metadata.identifier}#complete",
            published=published + dt.timedelta(minutes=len(narration.chapters) + 1),
            audio=book,
            seconds=narration.duration_s,
            rating=rating,
        )
        sub(item, f"{{{ITUNES}}}episodeType", "bonus")
        if (folder / CHAPTERS_NAME).is_file():
            sub(item, f"{{{PODCAST}}}chapters", url=file_url(base, CHAPTERS_NAME), type=CHAPTERS_MEDIA_TYPE)

    ElementTree.indent(rss, space=" ")
    body = ElementTree.tostring(rss, encoding="utf-8", xml_declaration=False)
    content = b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"
    with atomic_write(Path(path)) as handle:
        handle.write(content)
    return Path(path)


def add_item(
    channel: ElementTree.Element,
    base: str,
    folder: Path,
    *,
    title: str,
    description: str,
    guid: str,
    published: dt.datetime,
    audio: str,
    seconds: float,
    rating: str,
) -> ElementTree.Element:
    """One episode: title, description, stable guid, date, enclosure (exact length), duration."""
    item = sub(channel, "item")
    sub(item, "title", title)
    # No itunes:summary: Apple reads the description, and gPodder would take a plain-text
    # summary holding "<" for HTML and cut it.
    sub(item, "description", as_html(description))
    sub(item, "guid", guid, isPermaLink="false")
    sub(item, "pubDate", rfc2822(published))
    sub(item, "enclosure", url=file_url(base, audio), length=str(file_size(folder, audio)), type="audio/mpeg")
    sub(item, f"{{{ITUNES}}}duration", itunes_duration(seconds))
    sub(item, f"{{{ITUNES}}}explicit", rating)
    return item
