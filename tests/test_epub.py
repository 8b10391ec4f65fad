"""The EPUB writer: EPUBCheck-clean on every document, semantic, accessible, reproducible."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from reviewpub.reading import read_document
from reviewpub.writers.epub import write_epub
from tests.conftest import SEED, run_cli
from tests.test_documents import SOURCES
from tests.validation import assert_valid_epubs

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
HOSTILE = (
    "Tom & Jerry <script>alert(1)</script> ]]> Review\n\n"
    "Intro with <b>tags</b>, ampersands & more ]]> and emoji 🎬🍿, RTL שלום עולם, combining e\u0301, "
    "a NUL\x00 and a bell\x07 and \x1b[31mANSI\x1b[0m. A very long word " + "x" * 500 + ".\n\n"
    "The <Plot> & Its \"Quotes\"\n\nSome text. More text.\n\n"
    "???\n\nQuestion marks as a heading slug to nothing. Fine.\n\n"
    "...\n\nDots too.\n"
)


def build(source: Path, folder: Path, **overrides: object) -> Path:
    document = read_document(source, overrides or None)
    return write_epub(document, folder / f"{document.name}.epub")


@pytest.fixture(scope="module")
def epubs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One EPUB per test document, the seed, a hostile text and a user cover; validated at once."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("epubs")
    built = {source.name: build(source, folder) for source in [SEED, *SOURCES]}
    hostile = folder / "hostile.txt"
    hostile.write_text(HOSTILE, encoding="utf-8", errors="surrogatepass")
    built["hostile"] = build(hostile, folder / "h")
    cover = folder / "my cover.png"
    Image.new("RGB", (900, 1200), (200, 30, 30)).save(cover)
    built["cover"] = build(SEED, folder / "c", cover=cover, author="Zoë Asbæk", subtitle="A <Sub> & Title")
    assert_valid_epubs(built.values())
    return built


def read(epub: Path, name: str) -> bytes:
    with zipfile.ZipFile(epub) as archive:
        return archive.read(name)


def test_every_epub_passes_epubcheck(epubs: dict[str, Path]) -> None:
    assert len(epubs) == len(SOURCES) + 3


def test_zip_layout(epubs: dict[str, Path]) -> None:
    with zipfile.ZipFile(epubs["iss-review.txt"]) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        names = archive.namelist()
    assert "EPUB/nav.xhtml" in names and "EPUB/toc.ncx" in names and "EPUB/cover.jpg" in names
    assert sum(1 for name in names if re.match(r"EPUB/\d\d-.*\.xhtml$", name)) == 8


def test_package_metadata(epubs: dict[str, Path]) -> None:
    opf = etree.fromstring(read(epubs["cover"], "EPUB/content.opf"))
    assert opf.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert opf.findtext(".//dc:language", namespaces=NS) == "en"
    assert opf.findtext(".//dc:creator", namespaces=NS) == "Zoë Asbæk"
    assert "A <Sub> & Title" in [element.text for element in opf.findall(".//dc:title", NS)]
    properties: dict[str, list[str]] = {}
    for meta in opf.findall(".//opf:meta[@property]", NS):
        properties.setdefault(meta.get("property"), []).append(meta.text)
    assert set(properties["schema:accessMode"]) == {"textual", "visual"}
    assert properties["schema:accessModeSufficient"] == ["textual"]
    assert {"structuralNavigation", "tableOfContents", "readingOrder", "alternativeText"} <= set(
        properties["schema:accessibilityFeature"]
    )
    assert properties["schema:accessibilityHazard"] == ["none"]
    assert properties["schema:accessibilitySummary"][0]
    assert properties["dcterms:conformsTo"] == ["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]
    assert properties["dcterms:modified"] == ["2023-11-14T22:13:20Z"]  # SOURCE_DATE_EPOCH=1700000000


def test_markdown_front_matter_reaches_the_package(epubs: dict[str, Path]) -> None:
    opf = etree.fromstring(read(epubs["front-matter.md"], "EPUB/content.opf"))
    assert opf.findtext(".//dc:title", namespaces=NS) == "Poor Things, Reviewed"
    assert opf.findtext(".//dc:language", namespaces=NS) == "en-GB"
    assert opf.findtext(".//dc:publisher", namespaces=NS) == "The Small Screen"
    assert opf.findtext(".//dc:rights", namespaces=NS) == "CC BY 4.0"
    assert opf.findtext(".//dc:date", namespaces=NS) == "2024-01-19"
    chapter = read(epubs["front-matter.md"], "EPUB/01-introduction.xhtml").decode()
    assert "<em>strange</em>" in chapter and "<strong>wonderful</strong>" in chapter
    assert '<a href="https://example.org/yorgos">Yorgos Lanthimos</a>' in chapter


def test_nav_is_nested_with_landmarks(epubs: dict[str, Path]) -> None:
    nav = etree.fromstring(read(epubs["iss-review.txt"], "EPUB/nav.xhtml"))
    toc = nav.find(".//x:nav[@epub:type='toc']", NS)
    top = toc.findall("x:ol/x:li", NS)
    assert [li.findtext("x:a", namespaces=NS) for li in top][-1] == "Frequently Asked Questions"
    questions = top[-1].findall("x:ol/x:li/x:a", NS)
    assert [a.get("href") for a in questions][0] == "08-frequently-asked-questions.xhtml#is-i-s-s-suitable-for-all-audiences"
    landmarks = nav.find(".//x:nav[@epub:type='landmarks']", NS)
    assert {a.get("{http://www.idpf.org/2007/ops}type") for a in landmarks.iter("{http://www.w3.org/1999/xhtml}a")} == {
        "cover", "toc", "bodymatter"
    }
    ncx = etree.fromstring(read(epubs["iss-review.txt"], "EPUB/toc.ncx"))
    assert len(ncx.findall(".//ncx:navPoint", NS)) == 8 + 3 + 1


def test_chapters_are_semantic_and_every_sentence_has_an_id(epubs: dict[str, Path]) -> None:
    document = read_document(SEED)
    with zipfile.ZipFile(epubs["iss-review.txt"]) as archive:
        pages = {name: archive.read(name) for name in archive.namelist() if re.match(r"EPUB/\d\d-", name)}
    ids: set[str] = set()
    for name, content in pages.items():
        root = etree.fromstring(content)
        assert root.get("lang") == "en" and root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
        assert len(root.findall(".//x:h1", NS)) == 1
        section = root.find("x:body/x:section", NS)
        assert section.get("{http://www.idpf.org/2007/ops}type") in ("chapter", "introduction")
        assert section.get("role") in ("doc-chapter", "doc-introduction")
        ids |= {element.get("id") for element in root.iter() if element.get("id")}
    assert {sentence.id for sentence in document.sentences()} <= ids
    faq = etree.fromstring(pages["EPUB/08-frequently-asked-questions.xhtml"])
    assert len(faq.findall(".//x:h2", NS)) == 3


def test_lists_stay_lists(epubs: dict[str, Path]) -> None:
    page = etree.fromstring(read(epubs["numbered-pros-cons.txt"], "EPUB/04-s-3-verdict.xhtml"))
    assert [len(ul.findall("x:li", NS)) for ul in page.findall(".//x:ul", NS)] == [2, 2]
    assert [h2.xpath("string()") for h2 in page.findall(".//x:h2", NS)] == ["Pros", "Cons"]


def test_hostile_text_is_escaped_not_interpreted(epubs: dict[str, Path]) -> None:
    with zipfile.ZipFile(epubs["hostile"]) as archive:
        text = "".join(archive.read(name).decode() for name in archive.namelist() if name.endswith(".xhtml"))
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "]]&gt;" in text and "🎬🍿" in text and "שלום" in text
    assert "\x00" not in text and "\x07" not in text and "\x1b" not in text


def test_stylesheet_never_fixes_pixel_sizes(epubs: dict[str, Path]) -> None:
    css = read(epubs["iss-review.txt"], "EPUB/style.css").decode()
    assert not re.search(r"\d+px", css)


def test_generated_cover_and_user_cover(epubs: dict[str, Path]) -> None:
    from PIL import Image

    generated = Image.open(io.BytesIO(read(epubs["iss-review.txt"], "EPUB/cover.jpg")))
    assert generated.size == (1600, 2400)
    colours = generated.convert("L").getextrema()
    assert colours[1] - colours[0] > 150, "the title must contrast with the background"
    user = Image.open(io.BytesIO(read(epubs["cover"], "EPUB/cover.jpg")))
    assert user.size == (900, 1200)
    cover_page = read(epubs["iss-review.txt"], "EPUB/cover.xhtml").decode()
    assert 'alt="Cover of I.S.S. Movie Review' in cover_page


def test_same_input_gives_identical_bytes(tmp_path: Path) -> None:
    first = build(SEED, tmp_path / "one").read_bytes()
    second = build(SEED, tmp_path / "two").read_bytes()
    assert first == second


def test_cli_writes_the_epub_into_output(tmp_path: Path) -> None:
    result = run_cli("epub", str(SEED), "-o", str(tmp_path / "output"))
    written = tmp_path / "output" / "iss-review.epub"
    assert result.stdout.strip() == str(written)
    assert zipfile.is_zipfile(written)
    assert [path.name for path in (tmp_path / "output").iterdir() if not path.name.startswith(".")] == ["iss-review.epub"]
