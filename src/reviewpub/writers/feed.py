"""The podcast RSS feed: RSS 2.0 with the iTunes and Podcasting 2.0 namespaces.

Written with ElementTree rather than feedgen, which knows nothing of the ``podcast:``
namespace (transcripts, chapters, guid). Every field is escaped by the serializer; the output
is deterministic. Without ``--base-url`` the URLs point at ``reviewpub serve``'s default
address, which the server rewrites to the address it actually serves on.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.document import block_sentences
from reviewpub.files import atomic_write

if TYPE_CHECKING:
    from reviewpub.document import Chapter, Document
    from reviewpub.narration.model import Narration

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/"
"""Where ``reviewpub serve`` listens by default; it rewrites this prefix when it serves."""
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
"""The Podcasting 2.0 namespace's UUIDv5 namespace for podcast:guid."""

for prefix, namespace in (("itunes", ITUNES), ("podcast", PODCAST), ("atom", ATOM), ("content", CONTENT)):
    ElementTree.register_namespace(prefix, namespace)


def duration(seconds: float) -> str:
    """``HH:MM:SS`` for itunes:duration."""
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def summary(chapter: Chapter, sentences: int = 2) -> str:
    """The first sentences of a chapter's body (its children's when it has none)."""
    found = [sentence.text for section in chapter.walk() for block in section.blocks for sentence in block_sentences(block)]
    return " ".join(found[:sentences]) or chapter.title


def publication_date(document: Document) -> dt.datetime:
    """The document's date (or its modification time), as an aware datetime."""
    metadata = document.metadata
    if metadata.date:
        try:
            day = dt.date.fromisoformat(metadata.date[:10])
            return dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    return metadata.modified


def sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str) -> ElementTree.Element:
    """Add a child element with optional text and attributes."""
    element = ElementTree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def write_feed(document: Document, narration: Narration, folder: Path, path: Path, *, base_url: str | None,
               category: tuple[str, ...] | None, explicit: bool = False) -> Path:
    """Write feed.xml: one episode per chapter, in order, plus the whole book with its chapters."""
    metadata = document.metadata
    base = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/"
    folder = Path(folder)
    chapters = {chapter.id: chapter for chapter in document.chapters}
    author = metadata.author or "reviewpub"
    description = metadata.description or summary(document.chapters[0], 3)
    rss = ElementTree.Element("rss", {"version": "2.0"})
    channel = sub(rss, "channel")
    sub(channel, "title", metadata.title)
    sub(channel, "link", base)
    sub(channel, f"{{{ATOM}}}link", href=f"{base}feed.xml", rel="self", type="application/rss+xml")
    sub(channel, "description", description)
    sub(channel, "language", metadata.language)
    sub(channel, "generator", "reviewpub")
    sub(channel, "lastBuildDate", email.utils.format_datetime(metadata.modified))
    if metadata.rights:
        sub(channel, "copyright", metadata.rights)
    image = sub(channel, "image")
    sub(image, "url", f"{base}cover.jpg")
    sub(image, "title", metadata.title)
    sub(image, "link", base)
    sub(channel, f"{{{ITUNES}}}image", href=f"{base}cover.jpg")
    sub(channel, f"{{{ITUNES}}}author", author)
    owner = sub(channel, f"{{{ITUNES}}}owner")
    sub(owner, f"{{{ITUNES}}}name", metadata.publisher or author)
    sub(channel, f"{{{ITUNES}}}summary", description)
    names = category or ("TV & Film", "Film Reviews")
    parent = channel
    for name in names[:2]:
        parent = ElementTree.SubElement(parent, f"{{{ITUNES}}}category", {"text": name})
    sub(channel, f"{{{ITUNES}}}explicit", "true" if explicit else "false")
    sub(channel, f"{{{ITUNES}}}type", "serial")
    feed_address = f"{base}feed.xml".split("://", 1)[-1].rstrip("/")
    sub(channel, f"{{{PODCAST}}}guid", str(uuid.uuid5(PODCAST_GUID_NAMESPACE, feed_address)))
    sub(channel, f"{{{PODCAST}}}locked", "no")
    published = publication_date(document)
    for chapter_narration in narration.chapters:
        chapter = chapters[chapter_narration.chapter_id]
        add_item(channel, base, folder, title=chapter_narration.title, description=summary(chapter),
                 guid=f"{metadata.identifier}#{chapter.id}",
                 published=published + dt.timedelta(minutes=chapter_narration.number),
                 audio=f"audio/{chapter_narration.file_stem}.mp3", seconds=chapter_narration.duration_s,
                 episode=chapter_narration.number, transcript=f"captions/{chapter_narration.file_stem}")
    book = f"{document.name}.mp3"
    if (folder / book).is_file():
        add_item(channel, base, folder, title=f"{metadata.title} (complete)", description=description,
                 guid=f"{metadata.identifier}#complete", published=published + dt.timedelta(minutes=len(narration.chapters) + 1),
                 audio=book, seconds=narration.duration_s, episode=None, transcript=None, chapters="chapters.json")
    ElementTree.indent(rss, space=" ")
    content = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(rss, encoding="utf-8", xml_declaration=False) + b"\n"
    with atomic_write(Path(path)) as handle:
        handle.write(content)
    return Path(path)


def add_item(channel: ElementTree.Element, base: str, folder: Path, *, title: str, description: str, guid: str,
             published: dt.datetime, audio: str, seconds: float, episode: int | None, transcript: str | None,
             chapters: str | None = None) -> None:
    """One episode with its enclosure (exact byte length), transcript and chapters."""
    item = sub(channel, "item")
    sub(item, "title", title)
    sub(item, "description", description)
    sub(item, f"{{{ITUNES}}}summary", description)
    sub(item, "guid", guid, isPermaLink="false")
    sub(item, "pubDate", email.utils.format_datetime(published))
    sub(item, "enclosure", url=f"{base}{audio}", length=str((folder / audio).stat().st_size), type="audio/mpeg")
    sub(item, f"{{{ITUNES}}}duration", duration(seconds))
    if episode is not None:
        sub(item, f"{{{ITUNES}}}episode", str(episode))
        sub(item, f"{{{ITUNES}}}episodeType", "full")
    else:
        sub(item, f"{{{ITUNES}}}episodeType", "bonus")
    sub(item, f"{{{ITUNES}}}explicit", "false")
    if transcript is not None:
        sub(item, f"{{{PODCAST}}}transcript", url=f"{base}{transcript}.vtt", type="text/vtt", language="en")
        sub(item, f"{{{PODCAST}}}transcript", url=f"{base}{transcript}.srt", type="application/x-subrip")
    if chapters is not None:
        sub(item, f"{{{PODCAST}}}chapters", url=f"{base}{chapters}", type="application/json+chapters")
