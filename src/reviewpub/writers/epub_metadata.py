"""The EPUB package's metadata: Dublin Core, the review's item and rating, and the accessibility claim.

Apart from ``epub.py``, which assembles and packs the book, because these are the statements
the package makes about itself, each answering to a spec (EPUB Accessibility 1.1, schema.org),
and they must hold whether or not the EPUB reads aloud.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from reviewpub.writers.xhtml import clean

if TYPE_CHECKING:
    from ebooklib import epub

    from reviewpub.document import Document
    from reviewpub.writers.overlays import ReadAloud

ACCESSIBILITY_FEATURES = (
    "structuralNavigation",
    "tableOfContents",
    "readingOrder",
    "alternativeText",
    "displayTransformability",
)
"""schema:accessibilityFeature values every EPUB earns (EPUB Accessibility 1.1, §2)."""
CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"
"""The ``dcterms:conformsTo`` string EPUB Accessibility 1.1 defines (§5.1)."""
CERTIFIER = "reviewpub (automated: EPUBCheck and DAISY Ace rules)"
"""``a11y:certifiedBy``: who evaluated the claim; here the tool's own checks, said plainly."""
IDENTIFIER_NAMESPACE = uuid.UUID("0d6f7b8e-2a51-4f3c-9a3e-7265766965ee")
"""Namespace of the fallback identifier derived from title, author and language."""


def identifier(document: Document) -> str:
    """``Metadata.identifier``, or a ``urn:uuid`` derived from title, author and language (never random)."""
    metadata = document.metadata
    if metadata.identifier.strip():
        return clean(metadata.identifier.strip())
    seed = "\n".join((metadata.title, metadata.author or "", metadata.language))
    return f"urn:uuid:{uuid.uuid5(IDENTIFIER_NAMESPACE, seed)}"


def modified_utc(document: Document) -> dt.datetime:
    """``Metadata.modified`` in UTC (a naive value is taken as UTC already)."""
    modified = document.metadata.modified
    if modified.tzinfo is None:
        return modified
    return modified.astimezone(dt.timezone.utc).replace(tzinfo=None)


def accessibility_metadata(book: epub.EpubBook, read_aloud: ReadAloud | None) -> None:
    """schema.org accessibility properties and the conformance claim (EPUB Accessibility 1.1)."""
    modes = ["textual", "visual"] + (["auditory"] if read_aloud else [])
    # The cover is the only image and has alternative text, so text alone suffices; with every
    # chapter narrated, listening alone does too.
    sufficient = ["textual"] + (["auditory"] if read_aloud else [])
    features = list(ACCESSIBILITY_FEATURES)
    if read_aloud:
        features.append("synchronizedAudioText")
        if read_aloud.lexicon is not None:
            features.append("ttsMarkup")
    for mode in modes:
        book.add_metadata(None, "meta", mode, {"property": "schema:accessMode"})
    for mode in sufficient:
        book.add_metadata(None, "meta", mode, {"property": "schema:accessModeSufficient"})
    for feature in features:
        book.add_metadata(None, "meta", feature, {"property": "schema:accessibilityFeature"})
    book.add_metadata(None, "meta", "none", {"property": "schema:accessibilityHazard"})
    summary = (
        "Every chapter is a heading-structured section in reading order, reachable from a nested "
        "table of contents; the cover has alternative text and the text reflows with the reader's "
        "font, size and colour settings."
    )
    if read_aloud:
        summary += " Every heading and sentence is narrated and highlighted in sync with the audio."
    book.add_metadata(None, "meta", summary, {"property": "schema:accessibilitySummary"})
    book.add_metadata(None, "meta", CONFORMANCE, {"property": "dcterms:conformsTo"})
    book.add_metadata(None, "meta", CERTIFIER, {"property": "a11y:certifiedBy"})


def descriptive_metadata(book: epub.EpubBook, document: Document) -> None:
    """Title (and subtitle as a refined title), creator, language, identifier and the rest of Dublin Core."""
    metadata = document.metadata
    book.set_identifier(identifier(document))
    book.set_language(clean(metadata.language))
    book.title = clean(metadata.title)  # what ebooklib puts in the NCX <docTitle>
    book.add_metadata("DC", "title", book.title, {"id": "title"})
    book.add_metadata(None, "meta", "main", {"refines": "#title", "property": "title-type"})
    if metadata.subtitle:
        book.add_metadata("DC", "title", clean(metadata.subtitle), {"id": "subtitle"})
        book.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    if metadata.author:
        book.add_metadata("DC", "creator", clean(metadata.author), {"id": "creator"})
        book.add_metadata(None, "meta", "aut", {"refines": "#creator", "property": "role", "scheme": "marc:relators"})
    for name, value in (
        ("description", metadata.description),
        ("publisher", metadata.publisher),
        ("rights", metadata.rights),
        ("date", metadata.date),
    ):
        if value:
            book.add_metadata("DC", name, clean(value))
    review_metadata(book, document)


def review_metadata(book: epub.EpubBook, document: Document) -> None:
    """What was reviewed and the rating, as schema.org properties (the ``schema:`` prefix is reserved in EPUB 3).

    The package describes the book, which is the review: ``schema:itemReviewed`` names the
    item, refined by its type; ``schema:reviewRating`` holds the score, refined by its scale.
    The item is also a ``dc:subject``, which reading systems show as the book's subject.
    """
    metadata = document.metadata
    if metadata.item:
        book.add_metadata("DC", "subject", clean(metadata.item))
        book.add_metadata(
            None, "meta", clean(metadata.item), {"property": "schema:itemReviewed", "id": "item-reviewed"}
        )
        if metadata.item_type:
            book.add_metadata(
                None,
                "meta",
                f"https://schema.org/{metadata.item_type}",
                {"refines": "#item-reviewed", "property": "schema:additionalType"},
            )
    if metadata.rating:
        rating = metadata.rating
        book.add_metadata(None, "meta", f"{rating.value:g}", {"property": "schema:reviewRating", "id": "review-rating"})
        book.add_metadata(
            None, "meta", f"{rating.best:g}", {"refines": "#review-rating", "property": "schema:bestRating"}
        )
        book.add_metadata(
            None, "meta", f"{rating.worst:g}", {"refines": "#review-rating", "property": "schema:worstRating"}
        )
