"""The whole audiobook: an M4B (AAC) and one MP3, both with chapter marks.

Both are made by ffmpeg's concat demuxer reading the chapters' finished PCM (the
``ChapterNarration.wav_path`` files) straight from disk: the book is streamed, never held in
Python's memory, never re-synthesised and never re-normalised, so it sounds exactly as loud
as the chapter MP3s. Chapter marks come from the same spans as ``chapters.json``:

- M4B: AAC from ffmpeg's native encoder in the ``ipod`` muxer, chapters from an FFMETADATA
  file (the QuickTime chapter track audiobook apps read), tags and cover written by mutagen.
- MP3: LAME CBR, then ID3v2.4 tags with one ``CHAP`` frame per chapter (start/end in ms and
  a ``TIT2`` title) under a top-level, ordered ``CTOC``.

A file whose inputs (chapter PCM, titles, metadata, cover, settings) have not changed since
it was written is kept: the digest of those inputs is stored in the file and compared first.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.errors import WriterError
from reviewpub.ffmpeg import run_ffmpeg
from reviewpub.files import atomic_path, file_sha256
from reviewpub.media import INPUT_DIGEST_FRAME, MP3_QUALITY, lame_arguments
from reviewpub.writers.chapters import chapter_spans_ms
from reviewpub.writers.id3 import NARRATOR_CREDIT, book_frames, narrator_comment, release_date

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.narration.model import Narration

BOOK_SAMPLE_RATE = 44100
MP4_DIGEST_ATOM = "----:org.reviewpub:input"
"""Free-form MP4 atom holding the digest of an M4B's inputs."""
AUDIOBOOK_MEDIA_KIND = 2
"""iTunes ``stik`` value for an audiobook."""


def check_chapter_audio(narration: Narration, path: Path) -> int:
    """The sample rate shared by every chapter's PCM, after checking the files are there.

    Raises:
        WriterError: no chapters, a chapter WAV is missing, or the chapters disagree on
            their sample rate (the concat demuxer needs one format).
    """
    if not narration.chapters:
        raise WriterError(f"{path}: the narration has no chapters; the source needs body text")
    for chapter in narration.chapters:
        if not Path(chapter.wav_path).is_file():
            raise WriterError(f"{chapter.wav_path}: chapter audio is missing; run the build again to re-narrate")
    rates = {chapter.sample_rate for chapter in narration.chapters}
    if len(rates) != 1:
        raise WriterError(
            f"{path}: chapters were narrated at different sample rates {sorted(rates)}; clear the cache and build again"
        )
    return rates.pop()


def concat_quote(path: Path) -> str:
    """A path as a single-quoted token of ffmpeg's concat script (``'`` written ``'\\''``)."""
    return "'" + str(Path(path).resolve()).replace("'", "'\\''") + "'"


def metadata_value(text: str) -> str:
    """A value escaped for ffmpeg's FFMETADATA format (``=``, ``;``, ``#``, ``\\``, newline)."""
    for special in ("\\", "=", ";", "#", "\n"):
        text = text.replace(special, "\\" + special)
    return text


def render_ffmetadata(narration: Narration) -> str:
    """The chapter marks (ms) in ffmpeg's FFMETADATA format."""
    lines = [";FFMETADATA1"]
    for chapter, (start_ms, end_ms) in zip(narration.chapters, chapter_spans_ms(narration)):
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={start_ms}",
            f"END={end_ms}",
            f"title={metadata_value(' '.join(chapter.title.split()))}",
        ]
    return "\n".join(lines) + "\n"


@contextmanager
def book_inputs(narration: Narration) -> Iterator[tuple[Path, Path]]:
    """A concat script of the chapter WAVs and the FFMETADATA chapters, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="reviewpub-book-") as folder:
        script = Path(folder) / "chapters.ffconcat"
        script.write_text(
            "ffconcat version 1.0\n"
            + "".join(f"file {concat_quote(chapter.wav_path)}\n" for chapter in narration.chapters),
            encoding="utf-8",
        )
        chapters = Path(folder) / "chapters.ffmeta"
        chapters.write_text(render_ffmetadata(narration), encoding="utf-8")
        yield script, chapters


def concat_arguments(script: Path) -> list[str | Path]:
    """ffmpeg input arguments reading every chapter WAV in order, as one stream."""
    # -safe 0: the script names absolute paths (the cache lives outside the working folder).
    return ["-f", "concat", "-safe", "0", "-i", script]


def comment(narration: Narration) -> str:
    """The comment tag: who narrated, so a listener knows it is synthetic speech."""
    return narrator_comment(narration.engine, narration.voice)


def input_digest(document: Document, narration: Narration, cover_jpeg: bytes | None, *settings: object) -> str:
    """Digest of everything a whole-book file is made of; equal digests mean an identical file.

    The chapter WAVs count by content, so a re-narrated chapter always changes the digest
    whatever its file is called: by the checksum the cache verified when it handed the WAV
    over, else by hashing the file.
    """
    hasher = hashlib.sha256()
    for part in (
        repr(document.metadata),
        narration.engine,
        narration.voice,
        repr(settings),
        render_ffmetadata(narration),
        comment(narration),
    ):
        hasher.update(part.encode("utf-8") + b"\0")
    hasher.update(hashlib.sha256(cover_jpeg or b"").digest())
    for chapter in narration.chapters:
        hasher.update(f"{chapter.sample_rate}:{chapter.title}\0".encode())
        hasher.update((chapter.wav_sha256 or file_sha256(chapter.wav_path)).encode("ascii"))
    return hasher.hexdigest()


def stored_m4b_digest(path: Path) -> str | None:
    """The input digest recorded in an existing M4B, or None."""
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    if not path.is_file():
        return None
    try:
        tags = MP4(path).tags
    except (MutagenError, OSError):
        return None
    values = tags.get(MP4_DIGEST_ATOM) if tags is not None else None
    return bytes(values[0]).decode("ascii", "replace") if values else None


def stored_mp3_digest(path: Path) -> str | None:
    """The input digest recorded in an existing MP3's ``TXXX`` frame, or None."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    if not path.is_file():
        return None
    try:
        frame = ID3(path).get(f"TXXX:{INPUT_DIGEST_FRAME}")
    except (MutagenError, OSError, ValueError):
        return None
    return str(frame.text[0]) if frame is not None and frame.text else None


def write_m4b(
    document: Document, narration: Narration, path: Path, *, cover_jpeg: bytes | None, bitrate_kbps: int = 64
) -> Path:
    """Write the audiobook as M4B: mono AAC, chapter marks, title/author/date/cover tags.

    Returns:
        ``path``; an M4B already there made from the same inputs is kept as it is.

    Raises:
        WriterError: chapter audio is missing or ffmpeg failed.
    """
    from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

    path = Path(path)
    check_chapter_audio(narration, path)
    digest = input_digest(document, narration, cover_jpeg, "m4b", bitrate_kbps, BOOK_SAMPLE_RATE)
    if stored_m4b_digest(path) == digest:
        return path
    metadata = document.metadata
    author = metadata.author or NARRATOR_CREDIT
    with book_inputs(narration) as (script, chapters), atomic_path(path) as temporary:
        # Global tags from the FFMETADATA file too (it has none): "-map_metadata -1" would
        # also drop the chapters' titles.
        run_ffmpeg(
            [
                *concat_arguments(script),
                "-i",
                chapters,
                "-map",
                "0:a",
                "-map_metadata",
                "1",
                "-map_chapters",
                "1",
                "-c:a",
                "aac",
                "-aac_coder",
                "fast",
                "-b:a",
                f"{bitrate_kbps}k",
                "-ac",
                "1",
                "-ar",
                str(BOOK_SAMPLE_RATE),
                "-movflags",
                "+faststart",
                "-fflags",
                "+bitexact",
                "-f",
                "ipod",
                temporary,
            ],
            what=str(path),
        )
        tags = MP4(temporary)
        if tags.tags is None:
            tags.add_tags()
        tags["\xa9nam"] = [metadata.title]
        tags["\xa9alb"] = [metadata.title]
        tags["\xa9ART"] = [author]
        tags["aART"] = [author]
        tags["\xa9gen"] = ["Audiobook"]
        tags["\xa9day"] = [release_date(document)]
        tags["\xa9cmt"] = [comment(narration)]
        tags["stik"] = [AUDIOBOOK_MEDIA_KIND]
        if metadata.description:
            tags["desc"] = [metadata.description]
        if metadata.rights:
            tags["cprt"] = [metadata.rights]
        if cover_jpeg:
            tags["covr"] = [MP4Cover(cover_jpeg, imageformat=MP4Cover.FORMAT_JPEG)]
        tags[MP4_DIGEST_ATOM] = [MP4FreeForm(digest.encode("ascii"))]
        tags.save()
    return path


def write_book_mp3(
    document: Document, narration: Narration, path: Path, *, cover_jpeg: bytes | None, bitrate_kbps: int = 96
) -> Path:
    """Write the whole book as one MP3 with ID3v2.4 chapters (CHAP under a CTOC) and tags.

    The tags are those of the chapter MP3s, with the document title as the title: album,
    artist, genre Speech, date, language (TLAN), cover (APIC) and comment.

    Returns:
        ``path``; an MP3 already there made from the same inputs is kept as it is.

    Raises:
        WriterError: chapter audio is missing or ffmpeg failed.
    """
    from mutagen.id3 import CHAP, CTOC, ID3, TIT2, TXXX, CTOCFlags

    path = Path(path)
    check_chapter_audio(narration, path)
    digest = input_digest(document, narration, cover_jpeg, "mp3", bitrate_kbps, BOOK_SAMPLE_RATE, MP3_QUALITY)
    if stored_mp3_digest(path) == digest:
        return path
    metadata = document.metadata
    with book_inputs(narration) as (script, _), atomic_path(path) as temporary:
        run_ffmpeg(
            [
                *concat_arguments(script),
                "-map",
                "0:a",
                "-map_metadata",
                "-1",
                "-ar",
                str(BOOK_SAMPLE_RATE),
                "-ac",
                "1",
                *lame_arguments(bitrate_kbps),
                "-fflags",
                "+bitexact",
                "-f",
                "mp3",
                temporary,
            ],
            what=str(path),
        )
        tags = ID3()
        for frame in book_frames(document, metadata.title, narration.engine, narration.voice, cover_jpeg):
            tags.add(frame)
        element_ids = []
        for number, (chapter, (start_ms, end_ms)) in enumerate(
            zip(narration.chapters, chapter_spans_ms(narration)), start=1
        ):
            element_id = f"chp{number}"
            element_ids.append(element_id)
            tags.add(
                CHAP(
                    element_id=element_id,
                    start_time=start_ms,
                    end_time=end_ms,
                    sub_frames=[TIT2(encoding=3, text=chapter.title)],
                )
            )
        tags.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=element_ids,
                sub_frames=[TIT2(encoding=3, text=metadata.title)],
            )
        )
        tags.add(TXXX(encoding=3, desc=INPUT_DIGEST_FRAME, text=digest))
        tags.save(temporary, v2_version=4)
    return path
