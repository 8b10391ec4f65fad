"""schema.org JSON-LD for a review's listening page: the review, its rating and its narration.

Apart from ``site.py`` because it answers to schema.org and search engines, not to the page's
reader: absolute URLs when the show has a base URL, and a rating only when the review gives one.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from reviewpub.layout import COVER_NAME, book_mp3_name
from reviewpub.writers.site_html import iso_duration

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.narration.model import Narration
    from reviewpub.writers.site import SiteLinks


def number(value: float) -> int | float:
    """``4`` rather than ``4.0``, ``8.5`` as it is: a score as the reviewer wrote it."""
    return int(value) if float(value).is_integer() else value


def parse_date(value: str | None) -> dt.date | None:
    """A front matter date as a date, or None when it is absent or not ISO 8601."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


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
