"""Hostile input, failures, interruptions and concurrent runs (the README's Guarantees)."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewpub.errors import ExitStatus, SourceError
from reviewpub.narration.spoken import spoken_text
from reviewpub.reading import read_document
from reviewpub.writers.epub import write_epub
from tests.helpers.cli import run_cli
from tests.helpers.paths import SEED
from tests.helpers.validation import assert_valid_epubs

REGRESSIONS = Path(__file__).with_name("regressions")
HOSTILE_PIECES = [
    "<",
    ">",
    "&",
    "&amp;",
    "]]>",
    "<script>alert(1)</script>",
    "<![CDATA[",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\ud800",
    "\udfff",
    "\ufffe",
    "שלום עולם",
    "مرحبا",
    "e\u0301\u0302",
    "🎬",
    "👩‍👩‍👧",
    "\u202e",
    "x" * 300,
    "/",
    "..",
    "../..",
    "???",
    "...",
    "“quoted”",
    "Mr.",
    "I.S.S.",
    "4/5",
    "\t",
    "\u2028",
    "%2e%2e",
    "C:\\Windows",
    "NUL",
    "CON",
]
WORDS = ["space", "crew", "Review", "The", "Plot", "tense", "Verdict", "film", "Asbæk", "Zoë", "and"]


@st.composite
def hostile_words(draw: st.DrawFn, minimum: int = 1) -> str:
    pieces = draw(
        st.lists(
            st.one_of(st.sampled_from(HOSTILE_PIECES), st.sampled_from(WORDS), st.text(max_size=6)),
            min_size=minimum,
            max_size=8,
        )
    )
    return " ".join(pieces)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Reviews from a grammar: title, headings of every form, paragraphs, lists, FAQ items."""
    lines = [draw(hostile_words()), ""]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["label", "caps", "numbered", "setext", "paragraph", "list", "faq", "empty-slug"]))
        title = draw(hostile_words()).replace("\n", " ")
        if kind == "label":
            lines += [f"Label: {title.title()}", ""]
        elif kind == "caps":
            lines += [title.upper(), ""]
        elif kind == "numbered":
            lines += [f"{draw(st.integers(1, 30))}. {title.title()}", ""]
        elif kind == "setext":
            lines += [title, "=" * max(3, len(title) // 2), ""]
        elif kind == "list":
            lines += [f"- {draw(hostile_words())}" for _ in range(draw(st.integers(1, 3)))] + [""]
        elif kind == "faq":
            for number in range(1, draw(st.integers(2, 3)) + 1):
                lines += [f"{number}. {title}?", draw(hostile_words()) + ".", ""]
        elif kind == "empty-slug":
            lines += [draw(st.sampled_from(["???", "...", "..", "/", "🎬"])), ""]
        lines += [draw(hostile_words(3)) + ".", ""]
    return "\n".join(lines)


def write_source(folder: Path, text: str, name: str = "generated.txt") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


def check_document(source: Path, output: Path) -> Path | None:
    """outline succeeds or fails with one line; the EPUB stays inside output; narration has no markup."""
    result = run_cli("outline", str(source), expect=ExitStatus.SUCCESS) if is_readable(source) else None
    if result is None:
        failed = run_cli("outline", str(source), expect=ExitStatus.ERROR)
        assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("Error: ")
        return None
    document = read_document(source)
    for sentence in document.sentences():
        spoken = spoken_text(sentence.text)
        assert not set("<>&") & set(spoken), spoken
        assert all(ord(character) >= 32 for character in spoken)
    path = write_epub(document, output / f"{document.name}.epub")
    assert path.resolve().parent == output.resolve()
    ids = [chapter.id for chapter in document.walk()]
    assert len(ids) == len(set(ids)) and all(chapter_id[0].isalpha() for chapter_id in ids)
    return path


def is_readable(source: Path) -> bool:
    try:
        read_document(source)
    except SourceError:
        return False
    return True


def test_generated_hostile_documents_give_valid_epubs(tmp_path: Path) -> None:
    built: list[Path] = []
    sources: dict[Path, str] = {}

    @settings(
        max_examples=int(os.environ.get("REVIEWPUB_HYPOTHESIS_EXAMPLES", "25")),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(documents())
    def build_one(text: str) -> None:
        folder = tmp_path / f"case{len(sources)}"
        folder.mkdir()
        source = write_source(folder, text)
        sources[source] = text
        epub = check_document(source, folder / "output")
        if epub is not None:
            built.append(epub)

    build_one()
    regressions = sorted(REGRESSIONS.glob("*.txt"))
    for number, regression in enumerate(regressions):
        folder = tmp_path / f"regression{number}"
        folder.mkdir()
        epub = check_document(regression, folder)
        if epub is not None:
            built.append(epub)
    assert len(built) >= 10
    try:
        assert_valid_epubs(built)
    except AssertionError:
        for source, text in sources.items():
            keep = REGRESSIONS / f"found-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}.txt"
            if (source.parent / "output").exists():
                keep.write_bytes(text.encode("utf-8", "surrogatepass"))
        raise


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "the file is empty"),
        ("only-headings.txt", b"Title\n\nFirst Heading\n\nSecond Heading\n\nTHIRD\n", "no body text"),
        ("binary.txt", bytes(range(256)) * 64, "binary"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "PNG image"),
        ("latin1.txt", "Caf\xe9 Review\n\nIt was tr\xe8s bien.\n".encode("latin-1"), None),
    ],
)
def test_bad_files_get_one_line_and_nothing_in_output(
    tmp_path: Path, name: str, content: bytes, message: str | None
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    output = tmp_path / "output"
    if message is None:
        run_cli("epub", str(source), "-o", str(output))
        return
    result = run_cli("build", str(source), "-o", str(output), expect=ExitStatus.ERROR)
    assert result.stderr.count("\n") == 1 and message in result.stderr and str(source) in result.stderr
    assert not output.exists() or not [path for path in output.rglob("*") if not path.name.startswith(".")]


def test_directory_and_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli("epub", str(tmp_path), "-o", str(tmp_path / "o"), expect=ExitStatus.ERROR)
    assert "is a folder" in result.stderr
    source = tmp_path / "locked.txt"
    source.write_text("Title\n\nBody text.\n")
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == source:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = run_cli("epub", str(source), "-o", str(tmp_path / "o"), expect=ExitStatus.ERROR)
    assert result.stderr == f"Error: {source}: permission denied; check the file's permissions\n"


def test_output_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "output"
    blocker.write_text("a file where the output folder should be")
    result = run_cli("epub", str(SEED), "-o", str(blocker / "reviews"), expect=ExitStatus.ERROR)
    assert result.stderr.count("\n") == 1 and "cannot write" in result.stderr


def test_disk_full_leaves_nothing_partial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import reviewpub.files as files

    real_replace = os.replace

    def full(source: str | Path, target: str | Path) -> None:
        if str(target).endswith(".epub"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", full)
    output = tmp_path / "output"
    result = run_cli("epub", str(SEED), "-o", str(output), expect=ExitStatus.ERROR)
    assert result.stderr.strip().endswith("cannot write (disk full)")
    assert [path.name for path in output.iterdir() if not path.name.startswith(".iss-review.lock")] == []


def test_big_and_many_chapter_documents(tmp_path: Path) -> None:
    many = tmp_path / "many.txt"
    many.write_text(
        "Many Chapters\n\n"
        + "".join(f"Chapter {n}: Part Number {n}\n\nText of part {n}. It ends.\n\n" for n in range(1, 2001))
    )
    document = read_document(many)
    assert len(document.chapters) == 2000
    big = tmp_path / "big.txt"
    random.seed(7)
    paragraph = " ".join(random.choice(WORDS) for _ in range(200)) + ".\n\n"
    big.write_text("Big Review\n\n" + paragraph * (20_000_000 // len(paragraph)))
    assert big.stat().st_size > 19_000_000
    assert run_cli("outline", str(big), "--format", "json").stdout.startswith("{")
    assert_valid_epubs([write_epub(document, tmp_path / "many.epub")])


def test_front_matter_cover_cannot_escape_the_source_folder(tmp_path: Path) -> None:
    source = tmp_path / "reviews" / "x.md"
    source.parent.mkdir()
    source.write_text("---\ncover: ../../../etc/passwd\n---\n\n# X\n\nText.\n")
    result = run_cli("outline", str(source), expect=ExitStatus.ERROR)
    assert "points outside" in result.stderr


BUILD = [sys.executable, "-m", "reviewpub", "build"]


def output_digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


@pytest.mark.parametrize("kill", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_build_resumes_and_matches_a_clean_build(tmp_path: Path, kill: signal.Signals) -> None:
    source = tmp_path / "long.txt"
    source.write_text(
        SEED.read_text(encoding="utf-8")
        + "\n\nExtra Notes: More To Say\n\n"
        + "".join(f"Further sentence number {n} about the film. " for n in range(150))
        + "\n"
    )
    environment = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    clean = tmp_path / "clean"
    subprocess.run(
        [*BUILD, str(source), "-o", str(clean), "--cache-dir", str(tmp_path / "clean-cache"), "-q"],
        check=True,
        env=environment,
        capture_output=True,
    )
    output, cache = tmp_path / "output", tmp_path / "cache"
    random.seed(int(kill))
    for delay in (random.uniform(0.3, 1.0), random.uniform(1.0, 2.5)):
        log = tmp_path / "stderr.log"
        with log.open("wb") as stderr_file:
            process = subprocess.Popen(
                [*BUILD, str(source), "-o", str(output), "--cache-dir", str(cache), "-q"],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=stderr_file,
            )
            time.sleep(delay)
            process.send_signal(kill)
            process.wait(timeout=60)
        stderr = log.read_bytes()
        if kill == signal.SIGINT and process.returncode not in (0,):
            assert b"Traceback" not in stderr
        for leftover in output.rglob("*.tmp*"):
            assert kill == signal.SIGKILL, f"SIGINT left {leftover}"
    clips_before = len(list(cache.rglob("*.pcm")))
    finished = subprocess.run(
        [*BUILD, str(source), "-o", str(output), "--cache-dir", str(cache)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert not list((cache / "narration-v2" / "scratch").iterdir()), "the killed runs' scratch files are gone"
    synthesised = int(finished.stderr.split(" of ")[-2].split()[-1]) if " of " in finished.stderr else -1
    unique_clips = len(list((tmp_path / "clean-cache").rglob("*.pcm")))
    assert synthesised == unique_clips - clips_before, finished.stderr
    # Every file, audio included, is byte for byte the uninterrupted run's: clips do not depend
    # on which sentences a process spoke before them, nor on which process spoke them.
    resumed, uninterrupted = output_digests(output / "long"), output_digests(clean / "long")
    assert resumed.keys() == uninterrupted.keys()
    assert [name for name in resumed if resumed[name] != uninterrupted[name]] == []
    assert (output / "long.epub").read_bytes() == (clean / "long.epub").read_bytes()


def test_two_concurrent_builds_both_succeed(tmp_path: Path) -> None:
    environment = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    command = [*BUILD, str(SEED), "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "-q"]
    first = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    second = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    assert second.wait(timeout=120) == 0, second.stderr.read() if second.stderr else ""
    assert_valid_epubs(
        [tmp_path / "out" / "iss-review.epub", tmp_path / "out" / "iss-review" / "iss-review.read-aloud.epub"]
    )
