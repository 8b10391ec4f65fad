"""The show's podcast feed (``output/feed.xml``): one episode per review of a folder build.

Apart from ``feed.py`` (one review's feed, and the RSS pieces both feeds use) because the show
feed is made from published episodes (``reviewpub.episodes``), never from a narration, so a
review kept as it was keeps its ``<item>`` byte for byte.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub import __version__
from reviewpub.files import atomic_write
from reviewpub.layout import COVER_NAME, FEED_NAME
from reviewpub.podcast import feed_base_url
from reviewpub.writers.chapters import CHAPTERS_MEDIA_TYPE
from reviewpub.writers.feed import (
    ATOM,
    ITUNES,
    PODCAST,
    as_html,
    file_url,
    itunes_duration,
    podcast_guid,
    rfc2822,
    sub,
    xml_safe,
)

if TYPE_CHECKING:
    from reviewpub.episodes import Episode
    from reviewpub.show import Show


def render_show_feed(show: Show, episodes: list[Episode]) -> bytes:
    """The show feed's bytes: one ``<item>`` per review, in the order given (newest first).

    Each item depends only on its own episode and the show's settings, so a review that was
    kept as it was keeps its ``<item>`` byte for byte when others come and go.
    """
    base = feed_base_url(show.base_url)
    rating = "true" if show.explicit else "false"
    rss = ElementTree.Element("rss", {"version": "2.0"})
    channel = sub(rss, "channel")
    sub(channel, "title", show.title)
    sub(channel, "link", base)
    sub(channel, f"{{{ATOM}}}link", href=file_url(base, FEED_NAME), rel="self", type="application/rss+xml")
    sub(channel, "description", show.description)
    sub(channel, "language", show.language)
    sub(channel, "generator", f"reviewpub {__version__}, narrated by a synthetic voice")
    # The newest episode's date, not the clock: the same show gives the same bytes.
    newest = max((episode.published for episode in episodes), default=show.modified)
    sub(channel, "lastBuildDate", rfc2822(newest))
    image = sub(channel, "image")
    sub(image, "url", file_url(base, COVER_NAME))
    sub(image, "title", show.title)
    sub(image, "link", base)
    sub(channel, f"{{{ITUNES}}}image", href=file_url(base, COVER_NAME))
    sub(channel, f"{{{ITUNES}}}author", show.author)
    owner = sub(channel, f"{{{ITUNES}}}owner")
    sub(owner, f"{{{ITUNES}}}name", show.owner_name)
    if show.owner_email:
        sub(owner, f"{{{ITUNES}}}email", show.owner_email)
    sub(channel, f"{{{ITUNES}}}summary", show.description)
    parent = channel
    for name in show.category[:2]:
        parent = ElementTree.SubElement(parent, f"{{{ITUNES}}}category", {"text": xml_safe(name)})
    sub(channel, f"{{{ITUNES}}}explicit", rating)
    sub(channel, f"{{{ITUNES}}}type", "episodic")
    sub(channel, f"{{{PODCAST}}}locked", "no", **({"owner": show.owner_email} if show.owner_email else {}))
    if show.base_url is not None:
        sub(channel, f"{{{PODCAST}}}guid", podcast_guid(file_url(base, FEED_NAME)))
    for episode in episodes:
        item = sub(channel, "item")
        sub(item, "title", episode.title)
        sub(item, "description", as_html(episode.description))
        sub(item, "guid", episode.guid, isPermaLink="false")
        sub(item, "pubDate", rfc2822(episode.published))
        sub(item, "enclosure", url=file_url(base, episode.audio), length=str(episode.audio_bytes), type="audio/mpeg")
        sub(item, f"{{{ITUNES}}}duration", itunes_duration(episode.duration_s))
        sub(item, f"{{{ITUNES}}}explicit", rating)
        sub(item, f"{{{ITUNES}}}episodeType", "full")
        sub(item, f"{{{ITUNES}}}image", href=file_url(base, episode.artwork))
        sub(item, f"{{{PODCAST}}}chapters", url=file_url(base, episode.chapters), type=CHAPTERS_MEDIA_TYPE)
        for transcript in episode.transcripts:
            extra = {"rel": transcript.role} if transcript.role else {}
            sub(
                item,
                f"{{{PODCAST}}}transcript",
                url=file_url(base, transcript.path),
                type=transcript.media_type,
                language=episode.language,
                **extra,
            )
    ElementTree.indent(rss, space=" ")
    body: bytes = ElementTree.tostring(rss, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def write_show_feed(show: Show, episodes: list[Episode], path: Path) -> Path:
    """Write the show feed (``output/feed.xml``): one episode per review, newest first."""
    with atomic_write(Path(path)) as handle:
        handle.write(render_show_feed(show, episodes))
    return Path(path)
