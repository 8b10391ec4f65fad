"""EPUB 3 with nav and NCX, accessibility metadata, and optionally Media Overlays.

ebooklib assembles the package (manifest, spine, NCX). Two things it cannot do are done on
its output before anything reaches the disk: ``xml:lang`` on the OPF ``<package>`` (DAISY Ace
requires it) and fixed ZIP timestamps, so the same Document gives byte-identical EPUBs.
"""

from __future__ import annotations

import io
import zipfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.cover import cover_alt_text, make_cover
from reviewpub.document import Chapter, Document
from reviewpub.files import atomic_write
from reviewpub.writers.overlays import ACTIVE_CLASS, ReadAloud, clock, render_overlay
from reviewpub.writers.xhtml import (
    ChapterFile,
    chapter_files,
    render_chapter,
    render_cover_page,
    render_nav,
    render_title_page,
)

if TYPE_CHECKING:
    from ebooklib import epub

OPF_PATH = "EPUB/content.opf"
ACCESSIBILITY_FEATURES = (
    "structuralNavigation",
    "tableOfContents",
    "readingOrder",
    "alternativeText",
    "displayTransformability",
)
CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"


def stylesheet() -> bytes:
    """The package stylesheet (relative units only)."""
    return resources.files("reviewpub").joinpath("data/style.css").read_bytes()


def xhtml_item(uid: str, file_name: str, content: str, *, properties: list[str] | None = None) -> epub.EpubItem:
    """An XHTML item whose bytes ebooklib writes exactly as given."""
    from ebooklib import epub

    item = epub.EpubItem(uid=uid, file_name=file_name, media_type="application/xhtml+xml", content=content.encode("utf-8"))
    item.properties = properties or []
    return item


def accessibility_metadata(book: epub.EpubBook, document: Document, read_aloud: ReadAloud | None) -> None:
    """schema.org accessibility properties and the conformance claim (EPUB Accessibility 1.1)."""
    modes = ["textual", "visual"] + (["auditory"] if read_aloud else [])
    sufficient = ["textual"] + (["auditory"] if read_aloud else [])
    features = list(ACCESSIBILITY_FEATURES) + (["synchronizedAudioText"] if read_aloud else [])
    for mode in modes:
        book.add_metadata(None, "meta", mode, {"property": "schema:accessMode"})
    for mode in sufficient:
        book.add_metadata(None, "meta", mode, {"property": "schema:accessModeSufficient"})
    for feature in features:
        book.add_metadata(None, "meta", feature, {"property": "schema:accessibilityFeature"})
    book.add_metadata(None, "meta", "none", {"property": "schema:accessibilityHazard"})
    summary = (
        "Every chapter is a heading-structured section in reading order, reachable from a nested "
        "table of contents; the cover has alternative text and the text reflows with the reader's settings."
    )
    if read_aloud:
        summary += " Every sentence is narrated and highlighted in sync with the audio."
    book.add_metadata(None, "meta", summary, {"property": "schema:accessibilitySummary"})
    book.add_metadata(None, "meta", CONFORMANCE, {"property": "dcterms:conformsTo"})
    book.add_metadata(None, "meta", "reviewpub", {"property": "a11y:certifiedBy"})


def descriptive_metadata(book: epub.EpubBook, document: Document) -> None:
    """Title, subtitle, creator, language, identifier and the other Dublin Core fields."""
    metadata = document.metadata
    book.set_identifier(metadata.identifier)
    book.set_title(metadata.title)
    book.set_language(metadata.language)
    if metadata.subtitle:
        book.add_metadata("DC", "title", metadata.subtitle, {"id": "subtitle"})
        book.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    if metadata.author:
        book.add_author(metadata.author)
    if metadata.description:
        book.add_metadata("DC", "description", metadata.description)
    if metadata.publisher:
        book.add_metadata("DC", "publisher", metadata.publisher)
    if metadata.rights:
        book.add_metadata("DC", "rights", metadata.rights)
    if metadata.date:
        book.add_metadata("DC", "date", metadata.date)


def navigation_toc(files: list[ChapterFile]) -> list[Any]:
    """The nested table of contents in ebooklib's form, for the NCX."""
    from ebooklib import epub

    def entry(chapter: Chapter, file_name: str, top: bool) -> Any:
        href = file_name if top else f"{file_name}#{chapter.id}"
        link = epub.Link(href, chapter.title, f"nav-{chapter.id}")
        if not chapter.children:
            return link
        return (epub.Section(chapter.title, href), [link] + [entry(child, file_name, False) for child in chapter.children])

    return [entry(item.chapter, item.file_name, True) for item in files]


def add_read_aloud(book: epub.EpubBook, document: Document, files: list[ChapterFile], read_aloud: ReadAloud,
                   items: dict[str, epub.EpubItem]) -> None:
    """Embed chapter MP3s and SMIL overlays, and declare durations, narrator and active class."""
    from ebooklib import epub

    narrations = {chapter.chapter_id: chapter for chapter in read_aloud.narration.chapters}
    total = 0.0
    for item in files:
        narration = narrations.get(item.chapter.id)
        if narration is None:
            continue
        audio_name = f"audio/{narration.file_stem}.mp3"
        audio = epub.EpubItem(uid=f"audio-{item.number:02d}", file_name=audio_name, media_type="audio/mpeg",
                              content=Path(read_aloud.chapter_audio[item.chapter.id]).read_bytes())
        book.add_item(audio)
        overlay_id = f"overlay-{item.number:02d}"
        smil = epub.EpubItem(uid=overlay_id, file_name=f"overlays/{narration.file_stem}.smil",
                             media_type="application/smil+xml",
                             content=render_overlay(narration, f"../{item.file_name}", f"../{audio_name}").encode("utf-8"))
        book.add_item(smil)
        items[item.chapter.id].media_overlay = overlay_id
        book.add_metadata(None, "meta", clock(narration.duration_s), {"property": "media:duration", "refines": f"#{overlay_id}"})
        total += narration.duration_s
    book.add_metadata(None, "meta", clock(total), {"property": "media:duration"})
    book.add_metadata(None, "meta", read_aloud.narrator, {"property": "media:narrator"})
    book.add_metadata(None, "meta", ACTIVE_CLASS, {"property": "media:active-class"})


def lexicon_item(document: Document, read_aloud: ReadAloud | None) -> Any:
    """The pronunciation lexicon as a PLS item, when the narration used one."""
    if read_aloud is None or read_aloud.lexicon is None:
        return None
    from ebooklib import epub

    from reviewpub.narration.lexicon import load_lexicon

    pls = load_lexicon(read_aloud.lexicon).to_pls(document.metadata.language)
    return epub.EpubItem(uid="lexicon", file_name="lexicon.pls", media_type="application/pls+xml", content=pls)


def assemble_book(document: Document, read_aloud: ReadAloud | None) -> epub.EpubBook:
    """The whole package as an ebooklib book."""
    from ebooklib import epub

    metadata = document.metadata
    book = epub.EpubBook()
    descriptive_metadata(book, document)
    accessibility_metadata(book, document, read_aloud)
    book.add_item(epub.EpubItem(uid="style", file_name="style.css", media_type="text/css", content=stylesheet()))
    book.set_cover("cover.jpg", make_cover(metadata), create_page=False)
    cover_page = xhtml_item("cover", "cover.xhtml", render_cover_page(document, "cover.jpg", cover_alt_text(metadata)))
    title_page = xhtml_item("titlepage", "titlepage.xhtml", render_title_page(document))
    files = chapter_files(document)
    nav = xhtml_item("nav", "nav.xhtml", render_nav(document, files, cover_file="cover.xhtml", title_file="titlepage.xhtml"),
                     properties=["nav"])
    lexicon = lexicon_item(document, read_aloud)
    extra_head = '<link rel="pronunciation" type="application/pls+xml" href="lexicon.pls" hreflang={lang}/>\n'.replace(
        "{lang}", f'"{metadata.language}"') if lexicon is not None else ""
    chapters = {
        item.chapter.id: xhtml_item(f"c{item.number:02d}", item.file_name, render_chapter(document, item, extra_head=extra_head))
        for item in files
    }
    for item in (cover_page, title_page, nav, *chapters.values()):
        book.add_item(item)
    if lexicon is not None:
        book.add_item(lexicon)
    if read_aloud is not None:
        add_read_aloud(book, document, files, read_aloud, chapters)
    book.toc = navigation_toc(files)
    book.add_item(epub.EpubNcx())
    book.spine = [(cover_page, "no"), title_page, nav, *chapters.values()]
    return book


def package_bytes(document: Document, read_aloud: ReadAloud | None) -> bytes:
    """The EPUB file's bytes: ebooklib's output with xml:lang on the package and fixed timestamps."""
    from ebooklib import epub

    book = assemble_book(document, read_aloud)
    raw = io.BytesIO()
    options = {"mtime": document.metadata.modified, "epub3_pages": False, "epub3_landmark": False,
               "epub2_guide": False, "spine_direction": False, "package_direction": False}
    epub.EpubWriter(raw, book, options).write()
    return repack(raw.getvalue(), document)


def repack(data: bytes, document: Document) -> bytes:
    """Rewrite the ZIP: mimetype first and stored, fixed timestamps, ``xml:lang`` on ``<package>``."""
    modified = document.metadata.modified
    stamp = (max(modified.year, 1980), modified.month, modified.day, modified.hour, modified.minute, modified.second)
    language = document.metadata.language
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == OPF_PATH:
                content = content.replace(b"<package ", f'<package xml:lang="{language}" '.encode("ascii"), 1)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.external_attr = 0o644 << 16
            if info.filename == "mimetype":
                entry.compress_type = zipfile.ZIP_STORED
            else:
                entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, content)
    return output.getvalue()


def write_epub(document: Document, path: Path, *, read_aloud: ReadAloud | None = None) -> Path:
    """Write the EPUB (a read-aloud EPUB when ``read_aloud`` is given) atomically to ``path``."""
    content = package_bytes(document, read_aloud)
    with atomic_write(Path(path)) as handle:
        handle.write(content)
    return Path(path)
