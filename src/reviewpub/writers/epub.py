"""EPUB 3 with nav and NCX, accessibility metadata, and optionally Media Overlays.

ebooklib assembles the package (manifest, spine, NCX); every XHTML document is rendered by
``writers.xhtml`` and handed over as finished bytes. Two things ebooklib cannot do are done on
its output before anything reaches the disk: ``xml:lang`` on the OPF ``<package>`` (DAISY Ace
requires it) and fixed ZIP timestamps and order, so the same Document gives byte-identical
EPUBs.
"""

from __future__ import annotations

import io
import zipfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from reviewpub.cover import cover_alt_text, make_cover
from reviewpub.document import Chapter, Document
from reviewpub.errors import WriterError
from reviewpub.files import atomic_write
from reviewpub.writers.epub_metadata import accessibility_metadata, descriptive_metadata, modified_utc
from reviewpub.writers.overlays import (
    ACTIVE_CLASS,
    ACTIVE_CLASS_CSS,
    ReadAloud,
    clock,
    overlay_clips,
    read_chapter_audio,
    render_overlay,
)
from reviewpub.writers.xhtml import (
    TOP_LEVEL_SEMANTICS,
    ChapterFile,
    anchor_files,
    chapter_files,
    clean,
    is_right_to_left,
    render_chapter_xhtml,
    render_cover_page,
    render_nav,
    render_title_page,
)

if TYPE_CHECKING:
    from ebooklib import epub

OPF_PATH = "EPUB/content.opf"
NCX_PATH = "EPUB/toc.ncx"
STORED_SUFFIXES = (".mp3", ".jpg")
COVER_IMAGE = "cover.jpg"
COVER_PAGE = "cover.xhtml"
TITLE_PAGE = "titlepage.xhtml"
LEXICON_FILE = "lexicon.pls"


def stylesheet(read_aloud: bool) -> bytes:
    """The package stylesheet (relative units only), with the highlight rule for read-aloud EPUBs."""
    css = resources.files("reviewpub").joinpath("data/style.css").read_text(encoding="utf-8")
    return (css + ACTIVE_CLASS_CSS if read_aloud else css).encode("utf-8")


def xhtml_item(uid: str, file_name: str, content: str, *, properties: list[str] | None = None) -> epub.EpubItem:
    """An XHTML item whose bytes ebooklib writes exactly as given."""
    from ebooklib import epub

    item = epub.EpubItem(
        uid=uid, file_name=file_name, media_type="application/xhtml+xml", content=content.encode("utf-8")
    )
    item.properties = properties or []
    return item


def fill_nav_map(ncx: bytes, document: Document, files: list[ChapterFile]) -> bytes:
    """The NCX ebooklib wrote (with an empty ``navMap``) with our table of contents in it.

    The same entries, nested the same way, as nav.xhtml, written as ebooklib writes them (ids
    ``nav-<chapter>``, ``sep_<n>`` for an entry with children), but in linear time: ebooklib
    scans every earlier entry for each new one, which took minutes for 100,000 headings.
    """
    from lxml import etree

    root = etree.fromstring(ncx, etree.XMLParser(remove_blank_text=True))
    namespace = root.nsmap[None]
    nav_map = root.find(f"{{{namespace}}}navMap")

    def point(parent: Any, point_id: str, title: str, href: str) -> Any:
        element = etree.SubElement(parent, "navPoint", {"id": point_id})
        etree.SubElement(etree.SubElement(element, "navLabel"), "text").text = title
        etree.SubElement(element, "content", {"src": href})
        return element

    separators = 0

    def add(parent: Any, chapter: Chapter, file_name: str, top: bool) -> None:
        nonlocal separators
        href = file_name if top else f"{file_name}#{chapter.id}"
        if not chapter.children:
            point(parent, f"nav-{chapter.id}", clean(chapter.title), href)
            return
        element = point(parent, f"sep_{separators}", clean(chapter.title), href)
        separators += 1
        for child in chapter.children:
            add(element, child, file_name, False)

    point(nav_map, "title-page", clean(document.metadata.title), TITLE_PAGE)  # chapters are all "nav-…"
    for item in files:
        add(nav_map, item.chapter, item.file_name, True)
    return bytes(etree.tostring(root, pretty_print=True, encoding="utf-8", xml_declaration=True))


def toc_depth(chapter: Chapter) -> int:
    """Levels of the table of contents below and including ``chapter``."""
    return 1 + max((toc_depth(child) for child in chapter.children), default=0)


def add_read_aloud(
    book: epub.EpubBook, files: list[ChapterFile], read_aloud: ReadAloud, items: dict[str, epub.EpubItem]
) -> None:
    """Embed chapter MP3s and SMIL overlays; declare each duration, the total, narrator and active class."""
    from ebooklib import epub

    narrations = {chapter.chapter_id: chapter for chapter in read_aloud.narration.chapters}
    unknown = sorted(set(narrations) - {item.chapter.id for item in files})
    if unknown:
        raise WriterError(
            f"the narration has chapter {unknown[0]!r}, which the text does not; narrate the current text again"
        )
    total_ms = 0
    for item in files:
        narration = narrations.get(item.chapter.id)
        if narration is None:
            continue
        if item.chapter.id not in read_aloud.chapter_audio:
            raise WriterError(
                f"chapter {item.number} {item.chapter.title!r}: no MP3 was given to embed; write the chapter MP3s first"
            )
        sentence_ids = {sentence.id for sentence in item.chapter.all_sentences()}
        clips = overlay_clips(narration, sentence_ids)
        audio_name = f"audio/{narration.file_stem}.mp3"
        book.add_item(
            epub.EpubItem(
                uid=f"audio-{item.number:02d}",
                file_name=audio_name,
                media_type="audio/mpeg",
                content=read_chapter_audio(read_aloud.chapter_audio[item.chapter.id], narration),
            )
        )
        overlay_id = f"overlay-{item.number:02d}"
        smil = render_overlay(
            clips, f"../{item.file_name}", f"../{audio_name}", epub_type=TOP_LEVEL_SEMANTICS[item.chapter.role][0]
        )
        book.add_item(
            epub.EpubItem(
                uid=overlay_id,
                file_name=f"overlays/{narration.file_stem}.smil",
                media_type="application/smil+xml",
                content=smil.encode("utf-8"),
            )
        )
        items[item.chapter.id].media_overlay = overlay_id
        duration_ms = clips[-1].end_ms - clips[0].begin_ms
        book.add_metadata(None, "meta", clock(duration_ms), {"property": "media:duration", "refines": f"#{overlay_id}"})
        total_ms += duration_ms
    if total_ms == 0:
        raise WriterError("the narration covers none of the document's chapters; narrate the current text again")
    book.add_metadata(None, "meta", clock(total_ms), {"property": "media:duration"})
    book.add_metadata(None, "meta", clean(read_aloud.narrator), {"property": "media:narrator"})
    book.add_metadata(None, "meta", ACTIVE_CLASS, {"property": "media:active-class"})


def lexicon_item(document: Document, read_aloud: ReadAloud | None) -> epub.EpubItem | None:
    """The pronunciation lexicon as a PLS item, when the narration used one."""
    if read_aloud is None or read_aloud.lexicon is None:
        return None
    from ebooklib import epub

    pls = read_aloud.lexicon.to_pls(document.metadata.language)
    return epub.EpubItem(uid="lexicon", file_name=LEXICON_FILE, media_type="application/pls+xml", content=pls)


def assemble_book(document: Document, read_aloud: ReadAloud | None) -> epub.EpubBook:
    """The whole package as an ebooklib book."""
    from ebooklib import epub

    metadata = document.metadata
    if not document.chapters:
        raise WriterError(f"{document.source or document.name}: no chapters to write; the review needs body text")
    book = epub.EpubBook()
    descriptive_metadata(book, document)
    accessibility_metadata(book, read_aloud)
    if is_right_to_left(metadata.language):
        book.set_direction("rtl")
    book.add_item(
        epub.EpubItem(
            uid="style", file_name="style.css", media_type="text/css", content=stylesheet(read_aloud is not None)
        )
    )
    book.set_cover(COVER_IMAGE, make_cover(metadata), create_page=False)
    cover_page = xhtml_item("cover", COVER_PAGE, render_cover_page(document, COVER_IMAGE, cover_alt_text(metadata)))
    title_page = xhtml_item("titlepage", TITLE_PAGE, render_title_page(document))
    files = chapter_files(document)
    nav = xhtml_item(
        "nav",
        "nav.xhtml",
        render_nav(document, files, cover_file=COVER_PAGE, title_file=TITLE_PAGE),
        properties=["nav"],
    )
    lexicon = lexicon_item(document, read_aloud)
    extra_head = ""
    if lexicon is not None:
        extra_head = (
            f'<link rel="pronunciation" type="application/pls+xml" href="{LEXICON_FILE}" '
            f"hreflang={quoteattr(clean(metadata.language))}/>\n"
        )
    anchors = anchor_files(files)
    chapters = {
        item.chapter.id: xhtml_item(
            f"c{item.number:02d}",
            item.file_name,
            render_chapter_xhtml(document, item, extra_head=extra_head, anchors=anchors),
        )
        for item in files
    }
    for item in (cover_page, title_page, nav, *chapters.values()):
        book.add_item(item)
    if lexicon is not None:
        book.add_item(lexicon)
    if read_aloud is not None:
        add_read_aloud(book, files, read_aloud, chapters)
    book.toc = []  # the NCX's entries are written by fill_nav_map(), in linear time
    book.add_item(epub.EpubNcx())
    book.spine = [(cover_page, "no"), title_page, nav, *chapters.values()]
    return book


def package_bytes(document: Document, read_aloud: ReadAloud | None = None) -> bytes:
    """The EPUB file's bytes: ebooklib's output with xml:lang on the package and fixed timestamps."""
    from ebooklib import epub

    book = assemble_book(document, read_aloud)
    raw = io.BytesIO()
    rtl = is_right_to_left(document.metadata.language)
    # compresslevel 0: repack() decides each entry's compression; deflating the chapter MP3s
    # here only to inflate them there cost seconds per read-aloud EPUB.
    options = {
        "mtime": modified_utc(document),
        "epub3_pages": False,
        "epub3_landmark": False,
        "epub2_guide": False,
        "spine_direction": rtl,
        "package_direction": rtl,
        "compresslevel": 0,
    }
    epub.EpubWriter(raw, book, options).write()
    return repack(raw.getvalue(), document, chapter_files(document))


def repack(data: bytes, document: Document, files: list[ChapterFile]) -> bytes:
    """Rewrite the ZIP: mimetype first and stored, fixed timestamps and modes, ``xml:lang`` on ``<package>``."""
    modified = modified_utc(document)
    if modified.year < 1980:
        stamp = (1980, 1, 1, 0, 0, 0)  # the earliest a ZIP header can say
    else:
        stamp = (modified.year, modified.month, modified.day, modified.hour, modified.minute, modified.second)
    language = quoteattr(clean(document.metadata.language)).encode("utf-8")
    levels = max((toc_depth(chapter) for chapter in document.chapters), default=1)
    depth = f'<meta content="{levels}" name="dtb:depth"/>'.encode("ascii")
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        names = source.namelist()
        # OCF: "mimetype" first and stored; the rest in a fixed order.
        for name in ["mimetype", *sorted(name for name in names if name != "mimetype")]:
            content = source.read(name)
            if name == OPF_PATH:
                content = content.replace(b"<package ", b"<package xml:lang=" + language + b" ", 1)
            elif name == NCX_PATH:  # ebooklib always says 0
                content = fill_nav_map(content, document, files).replace(
                    b'<meta content="0" name="dtb:depth"/>', depth, 1
                )
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.external_attr = 0o644 << 16
            entry.create_system = 3
            # Audio and JPEG are compressed already: deflating them again only costs time.
            stored = name == "mimetype" or name.endswith(STORED_SUFFIXES)
            entry.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            target.writestr(entry, content, compresslevel=None if stored else 9)
    return output.getvalue()


def write_epub(document: Document, path: Path, *, read_aloud: ReadAloud | None = None) -> Path:
    """Write the EPUB (a read-aloud EPUB when ``read_aloud`` is given) atomically to ``path``.

    Raises:
        WriterError: the file cannot be written, or the narration does not match the text.
    """
    content = package_bytes(document, read_aloud)
    with atomic_write(Path(path)) as handle:
        handle.write(content)
    return Path(path)
