"""The EPUB writer: EPUBCheck-clean on every document, semantic, accessible, reproducible.

Documents come two ways: built by hand (``sample_document``, every block kind and every
hostile character, independent of the readers) and read from real sources (the seed review
and the golden documents). All of a module's EPUBs go through EPUBCheck in one JVM run.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from reviewpub.document import (
    Chapter,
    ChapterRole,
    Document,
    ListBlock,
    Metadata,
    Paragraph,
    Quote,
    Sentence,
    Span,
)
from reviewpub.errors import WriterError
from reviewpub.reading import read_document
from reviewpub.writers.epub import write_epub
from reviewpub.writers.xhtml import (
    ChapterFile,
    anchor_files,
    chapter_files,
    clean,
    render_chapter_xhtml,
    render_nav,
    render_title_page,
)
from tests.helpers.cli import run_cli
from tests.helpers.documents import HOSTILE, SOURCES, Sentences, sample_document
from tests.helpers.paths import ROOT, SEED
from tests.helpers.validation import CheckMessage, assert_valid_epubs

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def minimal_document(title: str = "Minimal") -> Document:
    """One chapter, one sentence, only a title: everything else defaulted (empty identifier, 1970)."""
    return Document(
        Metadata(title=title),
        (Chapter("only", "Only", Sentence.plain("h", "Only"), (Paragraph((Sentence.plain("b", "Body."),)),)),),
        name="minimal",
    )


def rtl_document() -> Document:
    """A Hebrew review: right to left."""
    say = Sentences()
    chapter = Chapter("mavo", "מבוא", say("מבוא"), (Paragraph((say("סרט מותח בחלל."), say("שווה צפייה."))),))
    return Document(Metadata(title="ביקורת", language="he", author="Zoë"), (chapter,), name="rtl")


@pytest.fixture(scope="module")
def epubs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind of EPUB this module inspects, validated by EPUBCheck in one JVM run."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("epubs")
    built = {
        "sample": write_epub(sample_document(), folder / "sample.epub"),
        "minimal": write_epub(minimal_document(), folder / "minimal.epub"),
        "rtl": write_epub(rtl_document(), folder / "rtl.epub"),
    }
    for source in [SEED, *SOURCES]:
        document = read_document(source)
        built[source.name] = write_epub(document, folder / f"{document.name}.epub")
    hostile = folder / "hostile.txt"
    hostile.write_text(
        f'{HOSTILE} Review\n\nIntro {HOSTILE}.\n\nThe <Plot> & Its "Quotes"\n\nSome text. More.\n\n'
        "???\n\nQuestion marks as a heading.\n",
        encoding="utf-8",
    )
    built["hostile"] = write_epub(read_document(hostile), folder / "hostile.epub")
    cover = folder / "my cover.png"
    Image.new("RGB", (900, 1200), (200, 30, 30)).save(cover)
    document = read_document(SEED, {"cover": cover, "author": "Zoë Asbæk", "subtitle": "A <Sub> & Title"})
    built["cover"] = write_epub(document, folder / "cover.epub")
    results = assert_valid_epubs(built.values())
    advice = {path: found for path, found in results.items() if found}
    assert not advice, f"EPUBCheck has advice (usage/info) worth fixing: {advice}"
    return built


def read(epub: Path, name: str) -> bytes:
    with zipfile.ZipFile(epub) as archive:
        return archive.read(name)


def xml(epub: Path, name: str) -> etree._Element:
    return etree.fromstring(read(epub, name))


def chapter_pages(epub: Path) -> dict[str, etree._Element]:
    with zipfile.ZipFile(epub) as archive:
        return {
            name.removeprefix("EPUB/"): etree.fromstring(archive.read(name))
            for name in archive.namelist()
            if re.match(r"EPUB/\d\d-.*\.xhtml$", name)
        }


def opf_properties(epub: Path) -> dict[str, list[str]]:
    properties: dict[str, list[str]] = {}
    for meta in xml(epub, "EPUB/content.opf").findall(".//opf:meta[@property]", NS):
        if not meta.get("refines"):
            properties.setdefault(meta.get("property"), []).append(meta.text)
    return properties


def text_of(element: etree._Element) -> str:
    return str(element.xpath("string()"))


def test_every_epub_passes_epubcheck_without_advice(epubs: dict[str, Path]) -> None:
    assert len(epubs) == len(SOURCES) + 6


def test_check_message_reports_what_epubcheck_said() -> None:
    message = CheckMessage("ERROR", "RSC_005", "EPUB/nav.xhtml:3:4", "Error while parsing file")
    assert message.is_blocking and str(message) == "ERROR(RSC_005) EPUB/nav.xhtml:3:4: Error while parsing file"
    assert not CheckMessage("USAGE", "CSS_029", "", "advice").is_blocking


def test_zip_layout_is_ocf(epubs: dict[str, Path]) -> None:
    with zipfile.ZipFile(epubs["sample"]) as archive:
        infos = archive.infolist()
        assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
        assert infos[0].extra == b"" and archive.read("mimetype") == b"application/epub+zip"
        names = [info.filename for info in infos]
        assert names[1:] == sorted(names[1:])
        assert {info.date_time for info in infos} == {(2024, 5, 6, 7, 30, 14)}  # UTC, DOS 2-second resolution
        container = etree.fromstring(archive.read("META-INF/container.xml"))
    assert container.find(".//{*}rootfile").get("full-path") == "EPUB/content.opf"
    assert {
        "EPUB/nav.xhtml",
        "EPUB/toc.ncx",
        "EPUB/cover.jpg",
        "EPUB/cover.xhtml",
        "EPUB/titlepage.xhtml",
        "EPUB/style.css",
    } <= set(names)
    assert [name for name in names if re.match(r"EPUB/\d\d-", name)] == [
        "EPUB/01-introduction.xhtml",
        "EPUB/02-the-script-tag.xhtml",
        "EPUB/03-verdict.xhtml",
        "EPUB/04-frequently-asked-questions.xhtml",
    ]


def test_package_metadata(epubs: dict[str, Path]) -> None:
    opf = xml(epubs["sample"], "EPUB/content.opf")
    assert opf.get(XML_LANG) == "en" and opf.get("version") == "3.0"
    assert opf.findtext(".//dc:language", namespaces=NS) == "en"
    identifier = opf.find(".//dc:identifier", NS)
    assert identifier.text == "urn:uuid:12345678-1234-5678-1234-567812345678"
    assert opf.get("unique-identifier") == identifier.get("id")
    titles = {title.get("id"): title.text for title in opf.findall(".//dc:title", NS)}
    assert titles == {"title": "I.S.S. <Review> & ]]> Thriller", "subtitle": "A <Sub> & Title"}
    refinements = {
        (meta.get("refines"), meta.get("property")): meta.text for meta in opf.findall(".//opf:meta[@refines]", NS)
    }
    assert refinements[("#title", "title-type")] == "main"
    assert refinements[("#subtitle", "title-type")] == "subtitle"
    creator = opf.find(".//dc:creator", NS)
    assert creator.text == "Zoë Asbæk" and refinements[("#" + creator.get("id"), "role")] == "aut"
    assert opf.findtext(".//dc:description", namespaces=NS) == "A review of I.S.S. & more <b>bold</b>."
    assert opf.findtext(".//dc:publisher", namespaces=NS) == "The Small Screen"
    assert opf.findtext(".//dc:rights", namespaces=NS) == "CC BY 4.0"
    assert opf.findtext(".//dc:date", namespaces=NS) == "2024-01-19"
    assert opf_properties(epubs["sample"])["dcterms:modified"] == ["2024-05-06T07:30:15Z"]
    assert opf_properties(epubs["iss-review.txt"])["dcterms:modified"] == ["2023-11-14T22:13:20Z"]  # SOURCE_DATE_EPOCH


def test_accessibility_metadata(epubs: dict[str, Path]) -> None:
    properties = opf_properties(epubs["sample"])
    assert properties["schema:accessMode"] == ["textual", "visual"]
    assert properties["schema:accessModeSufficient"] == ["textual"]
    assert set(properties["schema:accessibilityFeature"]) == {
        "structuralNavigation",
        "tableOfContents",
        "readingOrder",
        "alternativeText",
        "displayTransformability",
    }
    assert properties["schema:accessibilityHazard"] == ["none"]
    assert "table of contents" in properties["schema:accessibilitySummary"][0]
    assert "narrated" not in properties["schema:accessibilitySummary"][0]
    assert properties["dcterms:conformsTo"] == ["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]
    assert properties["a11y:certifiedBy"][0].startswith("reviewpub")


def test_an_empty_identifier_becomes_a_stable_urn(tmp_path: Path, epubs: dict[str, Path]) -> None:
    first = xml(epubs["minimal"], "EPUB/content.opf").findtext(".//dc:identifier", namespaces=NS)
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", first)
    again = write_epub(minimal_document(), tmp_path / "again.epub")
    other = write_epub(minimal_document("Another title"), tmp_path / "other.epub")
    assert xml(again, "EPUB/content.opf").findtext(".//dc:identifier", namespaces=NS) == first
    assert xml(other, "EPUB/content.opf").findtext(".//dc:identifier", namespaces=NS) != first
    assert xml(again, "EPUB/toc.ncx").find(".//ncx:meta[@name='dtb:uid']", NS).get("content") == first


def toc_entries(parent: etree._Element) -> list[tuple[str, str, list]]:  # type: ignore[type-arg]
    """nav.xhtml's ``<ol>`` as (label, href, children) triples."""
    return [
        (
            text_of(li.find("x:a", NS)),
            li.find("x:a", NS).get("href"),
            toc_entries(li.find("x:ol", NS)) if li.find("x:ol", NS) is not None else [],
        )
        for li in parent.findall("x:li", NS)
    ]


def ncx_entries(parent: etree._Element) -> list[tuple[str, str, list]]:  # type: ignore[type-arg]
    """The NCX's navPoints in the same shape."""
    return [
        (
            point.findtext("ncx:navLabel/ncx:text", namespaces=NS),
            point.find("ncx:content", NS).get("src"),
            ncx_entries(point),
        )
        for point in parent.findall("ncx:navPoint", NS)
    ]


def test_nav_and_ncx_nest_sections_under_their_chapter(epubs: dict[str, Path]) -> None:
    nav = xml(epubs["sample"], "EPUB/nav.xhtml")
    assert nav.get("lang") == nav.get(XML_LANG) == "en"
    toc = toc_entries(nav.find(".//x:nav[@epub:type='toc']/x:ol", NS))
    assert toc == [
        ("I.S.S. <Review> & ]]> Thriller", "titlepage.xhtml", []),
        ("Introduction", "01-introduction.xhtml", []),
        (f"The {clean(HOSTILE)} chapter", "02-the-script-tag.xhtml", []),
        (
            "Verdict",
            "03-verdict.xhtml",
            [
                ("Pros", "03-verdict.xhtml#pros", []),
                ("Cons", "03-verdict.xhtml#cons", [("Nitpicks", "03-verdict.xhtml#nitpicks", [])]),
            ],
        ),
        (
            "Frequently Asked Questions",
            "04-frequently-asked-questions.xhtml",
            [
                ("Is it suitable for all audiences?", "04-frequently-asked-questions.xhtml#question-1", []),
                ("Is it <really> set in space & orbit?", "04-frequently-asked-questions.xhtml#question-2", []),
            ],
        ),
    ]
    ncx = xml(epubs["sample"], "EPUB/toc.ncx")
    assert ncx_entries(ncx.find("ncx:navMap", NS)) == toc
    assert ncx.find(".//ncx:meta[@name='dtb:depth']", NS).get("content") == "3"
    landmarks = {a.get(EPUB_TYPE): a.get("href") for a in nav.findall(".//x:nav[@epub:type='landmarks']//x:a", NS)}
    assert landmarks == {"cover": "cover.xhtml", "toc": "nav.xhtml#toc", "bodymatter": "01-introduction.xhtml"}


def test_every_nav_link_lands_on_an_element(epubs: dict[str, Path]) -> None:
    for name in ("sample", "iss-review.txt", "numbered-pros-cons.txt"):
        pages = chapter_pages(epubs[name])
        nav = xml(epubs[name], "EPUB/nav.xhtml")
        for link in nav.findall(".//x:nav[@epub:type='toc']//x:a", NS):
            page, _, fragment = link.get("href").partition("#")
            if page == "titlepage.xhtml":
                continue
            assert page in pages, link.get("href")
            assert not fragment or pages[page].find(f".//*[@id='{fragment}']") is not None, link.get("href")


def test_seed_faq_questions_nest_under_the_faq(epubs: dict[str, Path]) -> None:
    nav = xml(epubs["iss-review.txt"], "EPUB/nav.xhtml")
    top = toc_entries(nav.find(".//x:nav[@epub:type='toc']/x:ol", NS))
    assert len(top) == 1 + 8 and top[-1][0] == "Frequently Asked Questions"
    assert (
        next(href for _, href, _ in top[-1][2])
        == "08-frequently-asked-questions.xhtml#is-i-s-s-suitable-for-all-audiences"
    )
    assert len(top[-1][2]) == 3


def test_chapters_are_semantic_sections(epubs: dict[str, Path]) -> None:
    pages = chapter_pages(epubs["sample"])
    expected = {
        "01-introduction.xhtml": ("introduction", "doc-introduction"),
        "02-the-script-tag.xhtml": ("chapter", "doc-chapter"),
        "03-verdict.xhtml": ("chapter", "doc-chapter"),
        "04-frequently-asked-questions.xhtml": ("chapter", "doc-chapter"),
    }
    for name, root in pages.items():
        assert root.get("lang") == "en" and root.get(XML_LANG) == "en"
        assert root.find("x:body", NS).get(EPUB_TYPE) == "bodymatter"
        assert len(root.findall(".//x:h1", NS)) == 1
        section = root.find("x:body/x:section", NS)
        assert (section.get(EPUB_TYPE), section.get("role")) == expected[name]
        heading_id = section.get("aria-labelledby")
        assert section.find("x:h1/x:span", NS).get("id") == heading_id
        for nested in section.findall(".//x:section", NS):
            assert nested.get("role") is None and nested.get(EPUB_TYPE) is None
    verdict = pages["03-verdict.xhtml"]
    assert [text_of(h) for h in verdict.findall(".//x:h2", NS)] == ["Pros", "Cons"]
    assert [text_of(h) for h in verdict.findall(".//x:h3", NS)] == ["Nitpicks"]
    faq = pages["04-frequently-asked-questions.xhtml"]
    assert [section.get("id") for section in faq.findall("x:body/x:section/x:section", NS)] == [
        "question-1",
        "question-2",
    ]
    assert [text_of(h) for h in faq.findall(".//x:h2", NS)] == [
        "Is it suitable for all audiences?",
        "Is it <really> set in space & orbit?",
    ]


def test_every_sentence_and_heading_is_wrapped_in_its_own_id(epubs: dict[str, Path]) -> None:
    for name, document in (("sample", sample_document()), ("iss-review.txt", read_document(SEED))):
        pages = chapter_pages(epubs[name])
        for item in chapter_files(document):
            root = pages[item.file_name]
            for sentence in item.chapter.all_sentences():
                found = root.findall(f".//*[@id='{sentence.id}']")
                assert len(found) == 1, sentence.id
                assert found[0].tag == "{http://www.w3.org/1999/xhtml}span"
                assert text_of(found[0]) == clean(sentence.text)
            ids = [element.get("id") for element in root.iter() if element.get("id")]
            assert len(ids) == len(set(ids))


def test_blocks_and_inline_styles_use_real_elements(epubs: dict[str, Path]) -> None:
    page = chapter_pages(epubs["sample"])["01-introduction.xhtml"]
    body = page.find("x:body/x:section", NS)
    assert [child.tag.split("}")[1] for child in body] == ["h1", "p", "p", "ul", "blockquote", "ol"]
    assert [len(li.findall("x:span", NS)) for li in body.findall("x:ul/x:li", NS)] == [1, 2, 1]
    assert len(body.findall("x:blockquote/x:p/x:span", NS)) == 2
    assert [text_of(li) for li in body.findall("x:ol/x:li", NS)] == ["First, the launch.", "Then, the silence."]
    assert text_of(body.find(".//x:em", NS)) == "tense" and text_of(body.find(".//x:strong", NS)) == "gripping"
    assert text_of(body.find(".//x:code", NS)) == "reviewpub build"


def test_links_are_kept_only_where_they_lead_somewhere(epubs: dict[str, Path]) -> None:
    page = chapter_pages(epubs["sample"])["01-introduction.xhtml"]
    links = {text_of(a): a.get("href") for a in page.findall(".//x:a", NS)}
    assert links == {
        "Gabriela Cowperthwaite": "https://example.org/gabriela%20cowperthwaite",
        "see the verdict": "03-verdict.xhtml#verdict",
        "the critic": "mailto:critic@example.org",
    }
    text = text_of(page)
    assert "click me" in text and "a local file" in text and "nowhere" in text


def test_hostile_text_is_escaped_not_interpreted(epubs: dict[str, Path]) -> None:
    for name, page in (("sample", "02-the-script-tag.xhtml"), ("hostile", "01-introduction.xhtml")):
        root = chapter_pages(epubs[name])[page]
        assert root.find(".//x:script", NS) is None and root.find(".//x:b", NS) is None
        text = text_of(root)
        assert "<script>alert(1)</script>" in text and "]]>" in text and "🎬🍿" in text and "שלום" in text
        assert ("e\u0301" if name == "sample" else "\u00e9") in text  # the writer quotes; the reader normalises to NFC
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
    raw = read(epubs["sample"], "EPUB/02-the-script-tag.xhtml").decode()
    assert "&lt;script&gt;" in raw and "]]&gt;" in raw and "<![CDATA[" not in raw


def test_title_page_names_title_subtitle_author_publisher_and_date(epubs: dict[str, Path]) -> None:
    page = xml(epubs["sample"], "EPUB/titlepage.xhtml")
    section = page.find("x:body/x:section", NS)
    assert section.get(EPUB_TYPE) == "titlepage" and page.find("x:body", NS).get(EPUB_TYPE) == "frontmatter"
    assert [text_of(child) for child in section] == [
        "I.S.S. <Review> & ]]> Thriller",
        "A <Sub> & Title",
        "Zoë Asbæk",
        "The Small Screen",
        "2024-01-19",
        "CC BY 4.0",
    ]
    assert text_of(xml(epubs["minimal"], "EPUB/titlepage.xhtml").find("x:body/x:section", NS)).strip() == "Minimal"


def test_right_to_left_languages_read_right_to_left(epubs: dict[str, Path]) -> None:
    opf = xml(epubs["rtl"], "EPUB/content.opf")
    assert opf.get(XML_LANG) == "he" and opf.find("opf:spine", NS).get("page-progression-direction") == "rtl"
    page = chapter_pages(epubs["rtl"])["01-mavo.xhtml"]
    assert (page.get("lang"), page.get(XML_LANG), page.get("dir")) == ("he", "he", "rtl")
    sample = xml(epubs["sample"], "EPUB/content.opf")
    assert sample.find("opf:spine", NS).get("page-progression-direction") is None
    assert chapter_pages(epubs["sample"])["01-introduction.xhtml"].get("dir") is None


def test_markdown_front_matter_reaches_the_package(epubs: dict[str, Path]) -> None:
    opf = xml(epubs["front-matter.md"], "EPUB/content.opf")
    assert opf.findtext(".//dc:title", namespaces=NS) == "Poor Things, Reviewed"
    assert opf.findtext(".//dc:language", namespaces=NS) == "en-GB" and opf.get(XML_LANG) == "en-GB"
    chapter = read(epubs["front-matter.md"], "EPUB/01-introduction.xhtml").decode()
    assert "<em>strange</em>" in chapter and "<strong>wonderful</strong>" in chapter
    assert '<a href="https://example.org/yorgos">Yorgos Lanthimos</a>' in chapter


def test_lists_from_plain_text_stay_lists(epubs: dict[str, Path]) -> None:
    page = chapter_pages(epubs["numbered-pros-cons.txt"])["04-s-3-verdict.xhtml"]
    assert [len(ul.findall("x:li", NS)) for ul in page.findall(".//x:ul", NS)] == [2, 2]
    assert [text_of(h2) for h2 in page.findall(".//x:h2", NS)] == ["Pros", "Cons"]


def test_stylesheet_respects_the_readers_settings(epubs: dict[str, Path]) -> None:
    css = read(epubs["sample"], "EPUB/style.css").decode()
    assert not re.search(r"\d\s*(px|pt|pc|cm|mm|in)\b", css), "sizes are relative"
    assert "font-family" not in css.replace("font-family: monospace", "")
    assert not re.search(r"(?<!background-)color\s*:", css), "text colour is the reader's"
    assert "media-overlay-active" not in css, "the highlight rule belongs to read-aloud EPUBs only"
    for page in ("cover.xhtml", "titlepage.xhtml", "nav.xhtml", "01-introduction.xhtml"):
        assert xml(epubs["sample"], f"EPUB/{page}").find(".//x:link[@rel='stylesheet']", NS).get("href") == "style.css"


def test_cover_image_and_page(epubs: dict[str, Path]) -> None:
    from PIL import Image

    opf = xml(epubs["sample"], "EPUB/content.opf")
    item = opf.find(".//opf:item[@properties='cover-image']", NS)
    assert (item.get("href"), item.get("media-type")) == ("cover.jpg", "image/jpeg")
    assert opf.find(".//opf:itemref[@idref='cover']", NS).get("linear") == "no"
    generated = Image.open(io.BytesIO(read(epubs["sample"], "EPUB/cover.jpg")))
    assert (generated.format, generated.size) == ("JPEG", (1600, 2400))
    assert Image.open(io.BytesIO(read(epubs["cover"], "EPUB/cover.jpg"))).size == (900, 1200)
    image = xml(epubs["sample"], "EPUB/cover.xhtml").find(".//x:img", NS)
    assert image.get("alt") == "Cover of I.S.S. <Review> & ]]> Thriller: A <Sub> & Title, by Zoë Asbæk"
    assert image.get("role") == "doc-cover" and image.get("src") == "cover.jpg"


def test_same_document_gives_identical_bytes_even_across_processes(tmp_path: Path, epubs: dict[str, Path]) -> None:
    assert write_epub(sample_document(), tmp_path / "again.epub").read_bytes() == epubs["sample"].read_bytes()
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from tests.helpers.documents import sample_document; from reviewpub.writers.epub import write_epub;"
        "write_epub(sample_document(), Path(sys.argv[2]))"
    )
    other = tmp_path / "other-process.epub"
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(ROOT), str(other)], check=True, env=environment, timeout=120)
    assert other.read_bytes() == epubs["sample"].read_bytes()


def test_a_failed_write_keeps_the_previous_epub(tmp_path: Path) -> None:
    target = write_epub(minimal_document(), tmp_path / "book.epub")
    before = target.read_bytes()
    broken = Document(Metadata(title="Nothing"), (), name="nothing")
    with pytest.raises(WriterError, match="no chapters"):
        write_epub(broken, target)
    assert target.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["book.epub"]


def test_unwritable_destination_is_a_writer_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(WriterError, match="a-file"):
        write_epub(minimal_document(), blocker / "book.epub")


def test_cli_writes_the_epub_into_output(tmp_path: Path) -> None:
    result = run_cli("epub", str(SEED), "-o", str(tmp_path / "output"))
    written = tmp_path / "output" / "iss-review.epub"
    assert result.stdout.strip() == str(written)
    assert zipfile.is_zipfile(written)
    assert [path.name for path in (tmp_path / "output").iterdir() if not path.name.startswith(".")] == [
        "iss-review.epub"
    ]


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


def documents_from(texts: Iterator[str]) -> Document:
    """A two-chapter document whose every piece of text comes from ``texts``."""
    say = Sentences()

    def sentence() -> Sentence:
        return say(Span(next(texts), emphasis=True), Span(next(texts), href=next(texts)), next(texts))

    child = Chapter("child", next(texts), sentence(), (ListBlock(((sentence(),),)),), role=ChapterRole.QUESTION)
    first = Chapter(
        "first",
        next(texts),
        sentence(),
        (Paragraph((sentence(), sentence())), Quote((Paragraph((sentence(),)),))),
        (child,),
        role=ChapterRole.FAQ,
    )
    return Document(
        Metadata(title=next(texts), subtitle=next(texts), author=next(texts), publisher=next(texts)),
        (first,),
        name="generated",
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=40, max_size=40))
def test_any_text_gives_well_formed_xhtml_that_quotes_it(texts: list[str]) -> None:
    document = documents_from(iter(texts))
    files = chapter_files(document)
    page = etree.fromstring(render_chapter_xhtml(document, files[0], anchors=anchor_files(files)).encode("utf-8"))
    for sentence in document.sentences():
        assert text_of(page.find(f".//*[@id='{sentence.id}']")) == clean(sentence.text)
    for link in page.iter("{http://www.w3.org/1999/xhtml}a"):
        assert link.get("href").split(":")[0] in ("http", "https", "mailto") or link.get("href").startswith(
            "01-first.xhtml#"
        )
    etree.fromstring(
        render_nav(document, files, cover_file="cover.xhtml", title_file="titlepage.xhtml").encode("utf-8")
    )
    title_page = etree.fromstring(render_title_page(document).encode("utf-8"))
    assert text_of(title_page.find(".//x:h1", NS)) == clean(document.metadata.title)


def test_chapter_files_are_numbered_in_reading_order() -> None:
    files = chapter_files(sample_document())
    assert [item.file_name for item in files][:2] == ["01-introduction.xhtml", "02-the-script-tag.xhtml"]
    assert ChapterFile(files[0].chapter, 12).file_name == "12-introduction.xhtml"
