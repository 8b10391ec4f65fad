"""The whole audiobook: M4B (AAC, chapter atoms, tags, cover) and one MP3 (ID3v2.4 CHAP/CTOC)."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import subprocess
import wave
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mutagen.id3 import ID3, CTOCFlags
from mutagen.mp4 import MP4

from reviewpub.errors import WriterError
from reviewpub.ffmpeg import ffmpeg_executable, run_ffmpeg, run_ffmpeg_analysis
from reviewpub.writers.audiobook import write_book_mp3, write_m4b
from reviewpub.writers.chapters import chapter_spans_ms
from tests.helpers.narration_factory import Book, make_book

RATE = 44100


@dataclass(frozen=True)
class Built:
    book: Book
    m4b: Path
    mp3: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    # A quote and a space in the cache path exercise the concat script's quoting.
    folder = tmp_path_factory.mktemp("book") / "Bob's cache dir"
    book = make_book(folder)
    m4b = write_m4b(book.document, book.narration, folder / "out" / "iss-review.m4b", cover_jpeg=book.cover_jpeg)
    mp3 = write_book_mp3(book.document, book.narration, folder / "out" / "iss-review.mp3", cover_jpeg=book.cover_jpeg)
    return Built(book, m4b, mp3)


def decode(path: Path) -> array[int]:
    """Any audio file as mono 16-bit samples at 44.1 kHz, decoded by ffmpeg."""
    samples = array("h")
    samples.frombytes(run_ffmpeg(["-i", path, "-f", "s16le", "-ac", "1", "-ar", str(RATE), "pipe:1"], what=str(path)))
    return samples


def rms_db(samples: array[int] | list[int]) -> float:
    return 20 * math.log10(math.sqrt(sum(sample * sample for sample in samples) / len(samples)) / 32768)


def wav_samples(path: Path) -> array[int]:
    with wave.open(str(path), "rb") as reader:
        samples = array("h")
        samples.frombytes(reader.readframes(reader.getnframes()))
    return samples


def ffmetadata_chapters(path: Path) -> list[tuple[float, float, str]]:
    """(start s, end s, title) of each chapter, as ffmpeg's FFMETADATA export reports them."""
    exported = run_ffmpeg(["-i", path, "-f", "ffmetadata", "pipe:1"], what=str(path)).decode("utf-8")
    chapters = []
    for block in exported.split("[CHAPTER]")[1:]:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        numerator, denominator = fields["TIMEBASE"].split("/")
        unit = int(numerator) / int(denominator)
        chapters.append((int(fields["START"]) * unit, int(fields["END"]) * unit, fields["title"]))
    return chapters


def chapter_windows(built: Built) -> Iterator[tuple[int, int, Path]]:
    """A 0.5 s window in the middle of each chapter, in book samples, and that chapter's WAV."""
    for (start_ms, end_ms), chapter in zip(chapter_spans_ms(built.book.narration), built.book.narration.chapters):
        middle = (start_ms + end_ms) // 2 * RATE // 1000
        yield middle - RATE // 4, middle + RATE // 4, chapter.wav_path


def test_m4b_has_the_chapters_with_their_titles_and_starts(built: Built) -> None:
    narration = built.book.narration
    expected = [
        (start / 1000, end / 1000, chapter.title)
        for (start, end), chapter in zip(chapter_spans_ms(narration), narration.chapters)
    ]
    found = ffmetadata_chapters(built.m4b)
    assert [title for *_, title in found] == [title for *_, title in expected]
    for (start, end, _), (expected_start, expected_end, _) in zip(found, expected):
        assert start == pytest.approx(expected_start, abs=0.001) and end == pytest.approx(expected_end, abs=0.001)
    # mutagen reads the same marks, as an audiobook app would.
    chapters = MP4(built.m4b).chapters
    assert chapters is not None
    assert [(round(chapter.start, 3), chapter.title) for chapter in chapters] == [
        (start, title) for start, _, title in expected
    ]


def test_m4b_is_aac_with_title_author_and_cover(built: Built) -> None:
    report = run_ffmpeg_analysis(["-i", built.m4b, "-f", "null", "-"], what=str(built.m4b))
    assert re.search(r"Audio: aac \(LC\).*44100 Hz, mono", report)
    file = MP4(built.m4b)
    assert file.info.codec == "mp4a.40.2"
    metadata = built.book.document.metadata
    assert file.tags is not None
    assert file.tags["\xa9nam"] == [metadata.title] and file.tags["\xa9ART"] == [metadata.author]
    assert file.tags["\xa9day"] == ["2024-01-19"] and file.tags["stik"] == [2]
    assert bytes(file.tags["covr"][0]) == built.book.cover_jpeg


def test_m4b_lasts_as_long_as_the_chapters_and_keeps_their_loudness(built: Built) -> None:
    samples = decode(built.m4b)
    assert len(samples) / RATE == pytest.approx(built.book.narration.duration_s, abs=0.05)
    for start, end, wav in chapter_windows(built):
        # Each chapter has its own level: a re-normalised book would bring them together.
        assert rms_db(samples[start:end]) == pytest.approx(rms_db(wav_samples(wav)[: end - start]), abs=0.5)


def test_mp3_has_chap_frames_under_an_ordered_top_level_ctoc(built: Built) -> None:
    tags = ID3(built.mp3)
    assert tags.version == (2, 4, 0)
    narration = built.book.narration
    chapters = tags.getall("CHAP")
    assert len(chapters) == len(narration.chapters)
    by_id = {frame.element_id: frame for frame in chapters}
    (toc,) = tags.getall("CTOC")
    assert toc.flags & CTOCFlags.TOP_LEVEL and toc.flags & CTOCFlags.ORDERED
    assert len(toc.child_element_ids) == len(narration.chapters)
    for element_id, (start_ms, end_ms), chapter in zip(
        toc.child_element_ids, chapter_spans_ms(narration), narration.chapters
    ):
        frame = by_id[element_id]
        assert (frame.start_time, frame.end_time) == (start_ms, end_ms)
        assert frame.sub_frames["TIT2"].text == [chapter.title]
    assert [by_id[element_id].start_time for element_id in toc.child_element_ids] == [0, 4250, 7600]


def test_mp3_carries_the_chapter_mp3_tags(built: Built) -> None:
    tags = ID3(built.mp3)
    metadata = built.book.document.metadata
    assert tags["TIT2"].text == [metadata.title] and tags["TALB"].text == [metadata.title]
    assert tags["TPE1"].text == [metadata.author] and tags["TCON"].text == ["Speech"]
    assert str(tags["TDRC"].text[0]) == "2024-01-19" and tags["TLAN"].text == ["eng"]
    assert tags.getall("APIC")[0].data == built.book.cover_jpeg
    assert tags.getall("COMM")[0].text == ["Narrated by reviewpub with espeak (en-gb)"]


def test_mp3_decodes_cleanly_at_the_right_length_and_loudness(built: Built) -> None:
    completed = subprocess.run(
        [ffmpeg_executable(), "-nostdin", "-v", "error", "-xerror", "-i", str(built.mp3), "-f", "null", "-"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0 and completed.stderr == b""
    samples = decode(built.mp3)
    assert len(samples) / RATE == pytest.approx(built.book.narration.duration_s, abs=0.05)
    for start, end, wav in chapter_windows(built):
        assert rms_db(samples[start:end]) == pytest.approx(rms_db(wav_samples(wav)[: end - start]), abs=0.5)


def test_unchanged_inputs_keep_the_files_and_a_changed_title_rewrites_them(built: Built, tmp_path: Path) -> None:
    book = built.book
    m4b, mp3 = tmp_path / "book.m4b", tmp_path / "book.mp3"
    write_m4b(book.document, book.narration, m4b, cover_jpeg=book.cover_jpeg)
    write_book_mp3(book.document, book.narration, mp3, cover_jpeg=book.cover_jpeg)
    before = {path: os.stat(path).st_ino for path in (m4b, mp3)}
    write_m4b(book.document, book.narration, m4b, cover_jpeg=book.cover_jpeg)
    write_book_mp3(book.document, book.narration, mp3, cover_jpeg=book.cover_jpeg)
    assert {path: os.stat(path).st_ino for path in (m4b, mp3)} == before
    renamed = dataclasses.replace(
        book.narration,
        chapters=(dataclasses.replace(book.narration.chapters[0], title="Opening"), *book.narration.chapters[1:]),
    )
    write_m4b(book.document, renamed, m4b, cover_jpeg=book.cover_jpeg)
    write_book_mp3(book.document, renamed, mp3, cover_jpeg=book.cover_jpeg)
    assert ffmetadata_chapters(m4b)[0][2] == "Opening"
    assert ID3(mp3).getall("CHAP")[0].sub_frames["TIT2"].text == ["Opening"]


def test_missing_chapter_audio_is_a_one_line_error(built: Built, tmp_path: Path) -> None:
    narration = built.book.narration
    gone = dataclasses.replace(
        narration,
        chapters=(dataclasses.replace(narration.chapters[0], wav_path=tmp_path / "gone.wav"), *narration.chapters[1:]),
    )
    for write in (write_m4b, write_book_mp3):
        with pytest.raises(WriterError, match=r"gone\.wav: chapter audio is missing") as raised:
            write(built.book.document, gone, tmp_path / "book.out", cover_jpeg=None)
        assert "\n" not in str(raised.value)
    assert not (tmp_path / "book.out").exists()
