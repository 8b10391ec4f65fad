"""The listening site in a real browser: Debian's Chromium driven by Playwright, judged by axe-core.

Two short reviews are built once (eSpeak NG, the real pipeline) and opened both from
``file://`` and through a real ``reviewpub serve`` on localhost. Timings the tests expect come
from the read-aloud EPUB's SMIL and ``chapters.json``, not from the page under test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import threading
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from lxml import etree
from playwright.sync_api import Browser, Page, sync_playwright

from reviewpub import pipeline, publishing
from reviewpub.document import Document, Rating
from reviewpub.options import BuildOptions
from reviewpub.reading import read_document
from reviewpub.serve import make_server
from reviewpub.show import ShowConfig, resolve_show

CHROMIUM = Path("/usr/bin/chromium")
REVIEW_A = (
    "---\ndate: 2024-05-02\nauthor: Ada Critic\n---\n# Review A\n\n## First part\n\n"
    "Short text & <there>. Nice to hear.\n\n## Second part\n\nMore words to read. And one more line.\n"
)
# A title that would end a <script> element if JSON were not escaped in the page.
REVIEW_B = "# Review B </script><!--\n\nAnother *short* one. It has two sentences.\n"
REVIEW_C = "Review C\n\nThe third review, added later.\n"
ITEM = {"item": "The Test Film", "item_type": "Movie", "rating": Rating(4, 5)}
"""Review metadata set on review A through its Document (no rating anywhere on B)."""
SMIL = "{http://www.w3.org/ns/SMIL}"
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def build_folder(source: Path, output: Path, cache: Path) -> list[Document]:
    """``reviewpub build source/`` as the CLI runs it, with review A's item and rating set by hand."""
    documents = []
    for path in publishing.find_sources((source,)):
        document = read_document(path)
        if document.name == "a":
            document = dataclasses.replace(document, metadata=document.metadata.replace(**ITEM))
        documents.append(document)
    options = BuildOptions(output=output, engine="espeak", cache_dir=cache)
    show = resolve_show(ShowConfig(title="Test Reviews", author="Ada Critic"), documents)
    for document in documents:
        pipeline.build(document, publishing.show_review_options(options, show, document))
    publishing.publish_show(show, documents, options)
    return documents


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a two-review show, built once."""
    root = tmp_path_factory.mktemp("site")
    source = root / "source"
    source.mkdir()
    (source / "a.md").write_text(REVIEW_A, encoding="utf-8")
    (source / "b.md").write_text(REVIEW_B, encoding="utf-8")
    build_folder(source, root / "output", root / "cache")
    return root / "output"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system Chromium; never a downloaded one. Missing, it fails loudly (``.ci/run`` installs it)."""
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server_origin(site: Path) -> Iterator[str]:
    """A real ``reviewpub serve`` of the output folder on a free local port."""
    server = make_server(site, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(params=["file", "serve"])
def address(request: pytest.FixtureRequest, site: Path) -> Callable[[str], str]:
    """relative page path → its URL, from file:// or from the server."""
    if request.param == "file":
        return lambda relative: (site / relative).as_uri()
    origin = request.getfixturevalue("server_origin")
    return lambda relative: origin + relative


@dataclasses.dataclass
class Watched:
    """A page with every console error, failed request and foreign request it caused."""

    page: Page
    problems: list[str]


@contextlib.contextmanager
def open_page(browser: Browser, url: str, **context_options: Any) -> Iterator[Watched]:
    """Open ``url`` in a fresh context, recording what must never happen on the site."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    problems: list[str] = []

    def on_request(request: Any) -> None:
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme not in ("file", "data") and parts.hostname not in LOCAL_HOSTS:
            problems.append(f"request to another host: {request.url}")

    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} ({request.failure})"))
    page.on("request", on_request)
    try:
        page.goto(url)
        yield Watched(page, problems)
    finally:
        context.close()


def wait_for_audio(page: Page) -> None:
    """Until the player knows its duration (so seeking is real, not deferred)."""
    page.wait_for_function("document.getElementById('player').readyState >= 1")


def chapter_starts(site: Path, name: str) -> list[float]:
    """Each chapter's start in the whole-review MP3, from chapters.json."""
    chapters = json.loads((site / name / "chapters.json").read_bytes())["chapters"]
    return [float(chapter["startTime"]) for chapter in chapters]


def smil_seconds(clock: str) -> float:
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def read_aloud_timings(site: Path, name: str) -> list[tuple[str, float, float]]:
    """(sentence id, start, end) in the whole-review audio, from the read-aloud EPUB's overlays."""
    starts = chapter_starts(site, name)
    with zipfile.ZipFile(site / name / f"{name}.read-aloud.epub") as epub:
        overlays = sorted(entry for entry in epub.namelist() if entry.endswith(".smil"))
        assert len(overlays) == len(starts)
        timings = []
        for offset, overlay in zip(starts, overlays):
            for par in etree.fromstring(epub.read(overlay)).iter(f"{SMIL}par"):
                text, audio = par.find(f"{SMIL}text"), par.find(f"{SMIL}audio")
                timings.append(
                    (
                        text.get("src").split("#")[1],
                        offset + smil_seconds(audio.get("clipBegin")),
                        offset + smil_seconds(audio.get("clipEnd")),
                    )
                )
    return timings


def json_ld(page_html: str) -> dict[str, Any]:
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page_html, re.DOTALL)
    return json.loads(block)  # type: ignore[no-any-return]


@pytest.mark.parametrize("relative", ["index.html", "a/index.html", "b/index.html"])
def test_pages_load_with_no_console_error_failed_or_foreign_request(
    browser: Browser, address: Callable[[str], str], relative: str
) -> None:
    with open_page(browser, address(relative)) as watched:
        if relative != "index.html":
            wait_for_audio(watched.page)
        watched.page.wait_for_load_state("networkidle")
        assert watched.problems == []
        assert watched.page.locator("h1").count() == 1


def test_clicking_a_chapter_moves_the_player_to_its_start(
    browser: Browser, address: Callable[[str], str], site: Path
) -> None:
    starts = chapter_starts(site, "a")
    assert len(starts) == 2 and starts[1] > 1
    with open_page(browser, address("a/index.html")) as watched:
        page = watched.page
        wait_for_audio(page)
        links = page.locator(".chapters a")
        assert links.count() == len(starts)
        for index in (1, 0):
            links.nth(index).click()
            current = page.evaluate("document.getElementById('player').currentTime")
            assert abs(current - starts[index]) <= 0.05, (index, current, starts[index])
            assert links.nth(index).get_attribute("aria-current") == "true"
        assert watched.problems == []


def test_the_sentence_being_read_is_highlighted_alone(
    browser: Browser, address: Callable[[str], str], site: Path
) -> None:
    timings = read_aloud_timings(site, "a")
    with open_page(browser, address("a/index.html")) as watched:
        page = watched.page
        wait_for_audio(page)
        for sentence_id, start, end in timings:
            highlighted = page.evaluate(
                """(t) => { const audio = document.getElementById('player');
                            audio.currentTime = t; audio.dispatchEvent(new Event('timeupdate'));
                            return [...document.querySelectorAll('.is-reading')].map(e => e.id); }""",
                (start + end) / 2,
            )
            assert highlighted == [sentence_id]
        assert watched.problems == []


def test_the_sentence_read_is_scrolled_into_view_at_once_with_reduced_motion(browser: Browser, site: Path) -> None:
    sentence_id, start, end = read_aloud_timings(site, "a")[-1]
    with open_page(
        browser, (site / "a" / "index.html").as_uri(), viewport={"width": 360, "height": 300}, reduced_motion="reduce"
    ) as watched:
        page = watched.page
        wait_for_audio(page)
        # Checked in the same task as the update: a smooth scroll would not have moved yet.
        box = page.evaluate(
            """([t, id]) => { const audio = document.getElementById('player');
                              const before = document.getElementById(id).getBoundingClientRect().top;
                              audio.currentTime = t; audio.dispatchEvent(new Event('timeupdate'));
                              const after = document.getElementById(id).getBoundingClientRect();
                              return [before, after.top, after.bottom, window.innerHeight]; }""",
            [(start + end) / 2, sentence_id],
        )
        before, top, bottom, height = box
        assert before > height, "the last sentence should start out of view for this test to mean anything"
        assert top >= 0 and bottom <= height, box


@pytest.mark.parametrize("relative", ["index.html", "a/index.html"])
def test_tab_reaches_every_control_in_order_with_a_visible_focus(
    browser: Browser, site: Path, server_origin: str, relative: str
) -> None:
    with open_page(browser, server_origin + relative) as watched:
        page = watched.page
        count = page.evaluate(
            """() => { const controls = [...document.querySelectorAll(
                         'a[href], button, audio[controls], input, select, textarea, [tabindex]:not([tabindex="-1"])')]
                         // leave out an audio element's fallback content
                         .filter(element => element.tagName === 'AUDIO' || !element.closest('audio'));
                       controls.forEach((element, index) => element.dataset.controlIndex = index);
                       return controls.length; }"""
        )
        assert count >= 5
        reached: list[int] = []
        invisible: list[str] = []
        for _ in range(count * 12):
            page.keyboard.press("Tab")
            index, outline = page.evaluate(
                """() => { const element = document.activeElement;
                           const style = getComputedStyle(element);
                           const visible = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
                           const index = element.dataset.controlIndex;
                           return [index === undefined ? -1 : Number(index),
                                   visible ? '' : element.outerHTML.slice(0, 80)]; }"""
            )
            if reached and index == reached[-1]:
                continue  # still inside the same control (a player's own buttons)
            if reached and index in (-1, 0):
                break  # past the last control (the browser's own UI, or round to the first)
            reached.append(index)
            if outline:
                invisible.append(outline)
        assert reached == list(range(count)), reached
        assert invisible == []


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("relative", ["index.html", "a/index.html", "b/index.html"])
def test_axe_core_finds_no_violation(browser: Browser, server_origin: str, relative: str, color_scheme: str) -> None:
    with open_page(browser, server_origin + relative, color_scheme=color_scheme) as watched:
        watched.page.wait_for_load_state("networkidle")
        results = Axe().run(watched.page)
        assert results.violations_count == 0, results.generate_report()


def test_without_javascript_the_text_chapter_links_and_downloads_are_all_there(browser: Browser, site: Path) -> None:
    with open_page(browser, (site / "a" / "index.html").as_uri(), java_script_enabled=False) as watched:
        page = watched.page
        assert "Short text & <there>." in page.locator("main").inner_text()
        chapter_targets = page.eval_on_selector_all(".chapters a", "links => links.map(a => a.getAttribute('href'))")
        assert chapter_targets == ["#first-part", "#second-part"]
        for target in chapter_targets:
            assert page.locator(target).is_visible()
        page.locator(".chapters a").nth(1).click()
        assert page.evaluate("location.hash") == "#second-part"
        downloads = page.eval_on_selector_all(".downloads a", "links => links.map(a => a.href)")
        names = {Path(urllib.parse.urlsplit(href).path).name for href in downloads}
        assert {"a.epub", "a.read-aloud.epub", "a.m4b", "a.mp3", "feed.xml"} <= names
        for href in downloads:
            assert Path(urllib.parse.unquote(urllib.parse.urlsplit(href).path)).is_file(), href
        assert page.locator("a.subscribe").first.get_attribute("href") == "../feed.xml"
        assert watched.problems == []


def test_every_relative_link_and_source_of_every_page_exists(site: Path) -> None:
    for page in (site / "index.html", site / "a" / "index.html", site / "b" / "index.html"):
        for target in re.findall(r'(?:href|src)="([^"#:]+)"', page.read_text(encoding="utf-8")):
            assert (page.parent / urllib.parse.unquote(target)).is_file(), (page, target)


def test_json_ld_has_the_review_item_and_rating_only_when_given(site: Path, browser: Browser) -> None:
    rated = json_ld((site / "a" / "index.html").read_text(encoding="utf-8"))
    assert rated["@type"] == "Review" and rated["name"] == "Review A"
    assert rated["author"] == {"@type": "Person", "name": "Ada Critic"}
    assert rated["datePublished"] == "2024-05-02" and rated["inLanguage"] == "en"
    assert rated["itemReviewed"] == {"@type": "Movie", "name": "The Test Film"}
    assert rated["reviewRating"] == {"@type": "Rating", "ratingValue": 4, "bestRating": 5, "worstRating": 0}
    audio = rated["audio"]
    assert audio["@type"] == "AudioObject" and audio["encodingFormat"] == "audio/mpeg"
    assert audio["contentUrl"] == "a.mp3" and re.fullmatch(r"PT(\d+M)?[\d.]+S", audio["duration"])
    assert "More words to read." in audio["transcript"]
    unrated = json_ld((site / "b" / "index.html").read_text(encoding="utf-8"))
    assert "reviewRating" not in unrated and "itemReviewed" not in unrated
    assert "datePublished" not in unrated  # no date in its front matter: none is made up
    # The title's "</script><!--" did not end the block early: the browser reads it whole.
    with open_page(browser, (site / "b" / "index.html").as_uri()) as watched:
        name = watched.page.evaluate(
            "JSON.parse(document.querySelector('script[type=\"application/ld+json\"]').textContent).name"
        )
        assert name == "Review B </script><!--"
        assert watched.page.title() == "Review B </script><!--"
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "Rating: <strong>4/5</strong>" in index and index.count("Rating:") == 1


def test_adding_a_review_keeps_the_other_pages_and_removing_one_removes_its_page(site: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    shutil.copytree(site, output)
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.md").write_text(REVIEW_A, encoding="utf-8")
    (source / "b.md").write_text(REVIEW_B, encoding="utf-8")
    before = {name: (site / name / "index.html").read_bytes() for name in ("a", "b")}
    index_before = (site / "index.html").read_bytes()
    build_folder(source, output, tmp_path / "cache")
    assert {name: (output / name / "index.html").read_bytes() for name in ("a", "b")} == before
    assert (output / "index.html").read_bytes() == index_before
    (source / "c.txt").write_text(REVIEW_C, encoding="utf-8")
    build_folder(source, output, tmp_path / "cache")
    assert {name: (output / name / "index.html").read_bytes() for name in ("a", "b")} == before
    assert (output / "c" / "index.html").is_file() and 'href="c/index.html"' in (output / "index.html").read_text()
    (source / "b.md").unlink()
    build_folder(source, output, tmp_path / "cache")
    assert not (output / "b").exists()
    assert 'href="b/index.html"' not in (output / "index.html").read_text()


def test_a_single_review_build_has_a_page_and_an_index_of_it(tmp_path: Path, browser: Browser) -> None:
    from tests.helpers.cli import run_cli

    source = tmp_path / "b.md"
    source.write_text(REVIEW_B, encoding="utf-8")
    run_cli("build", str(source), "-o", str(tmp_path / "output"), "--cache-dir", str(tmp_path / "cache"))
    page = (tmp_path / "output" / "b" / "index.html").read_text(encoding="utf-8")
    assert 'href="feed.xml" class="subscribe"' in page  # its own feed: there is no show
    index = (tmp_path / "output" / "index.html").read_text(encoding="utf-8")
    assert 'href="b/index.html"' in index and 'href="b/feed.xml"' in index
    with open_page(browser, (tmp_path / "output" / "index.html").as_uri()) as watched:
        watched.page.wait_for_load_state("networkidle")
        assert watched.problems == []  # before axe, whose own requests from file:// are refused
        results = Axe().run(watched.page)
        assert results.violations_count == 0, results.generate_report()
