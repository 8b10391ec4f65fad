"""The whole audiobook: an M4B (AAC) and one MP3, both with chapter marks.

Both concatenate the chapters' finished PCM with ffmpeg's concat demuxer (streamed, never
the whole book in memory, never re-synthesised or re-normalised), so loudness matches the
chapter MP3s.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.ffmpeg import run_ffmpeg
from reviewpub.files import atomic_path
from reviewpub.narration.audio import MP3_QUALITY
from reviewpub.narration.cache import digest
from reviewpub.writers.chapters import chapter_starts
from reviewpub.writers.mp3 import language_code

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.narration.model import Narration


@contextmanager
def concat_list(narration: Narration) -> Iterator[Path]:
    """A concat-demuxer list of the chapter WAVs (paths quoted per ffmpeg's rules)."""
    with tempfile.TemporaryDirectory(prefix="reviewpub-book-") as folder:
        listing = Path(folder) / "chapters.txt"
        lines = ["ffconcat version 1.0"]
        for chapter in narration.chapters:
            quoted = str(Path(chapter.wav_path).resolve()).replace("'", "'\\''")
            lines.append(f"file '{quoted}'")
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        yield listing


def metadata_value(text: str) -> str:
    """Escape a value for ffmpeg's FFMETADATA format."""
    for special in ("\\", "=", ";", "#", "\n"):
        text = text.replace(special, "\\" + special)
    return text


def ffmetadata(document: Document, narration: Narration) -> str:
    """Global tags and chapter marks (ms) in ffmpeg's FFMETADATA format."""
    metadata = document.metadata
    lines = [";FFMETADATA1", f"title={metadata_value(metadata.title)}", f"album={metadata_value(metadata.title)}",
             f"artist={metadata_value(metadata.author or 'reviewpub')}", "genre=Audiobook"]
    for chapter, (start, end) in zip(narration.chapters, chapter_starts(narration)):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(start * 1000)}", f"END={round(end * 1000)}",
                  f"title={metadata_value(chapter.title)}"]
    return "\n".join(lines) + "\n"


INPUT_DIGEST_ATOM = "----:org.reviewpub:input"


def book_digest(document: Document, narration: Narration, cover_jpeg: bytes | None, *settings: object) -> str:
    """Everything a whole-book file is made of; equal digests mean an identical file."""
    import hashlib

    return digest("book", [Path(chapter.wav_path).name for chapter in narration.chapters],
                  [chapter.title for chapter in narration.chapters], repr(document.metadata),
                  hashlib.sha256(cover_jpeg or b"").hexdigest(), narration.engine, narration.voice, settings)


def stored_m4b_digest(path: Path) -> str | None:
    """The input digest recorded in an existing M4B."""
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    try:
        values = MP4(path).tags.get(INPUT_DIGEST_ATOM) if path.is_file() else None
    except (MutagenError, OSError, AttributeError):
        return None
    return bytes(values[0]).decode("ascii", "replace") if values else None


def write_m4b(document: Document, narration: Narration, path: Path, *, cover_jpeg: bytes | None,
              bitrate_kbps: int = 64) -> Path:
    """AAC audiobook (ipod muxer) with chapter marks, tags and cover art; kept when unchanged."""
    from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

    metadata = document.metadata
    input_digest = book_digest(document, narration, cover_jpeg, "m4b", bitrate_kbps)
    if stored_m4b_digest(Path(path)) == input_digest:
        return Path(path)
    with concat_list(narration) as listing, atomic_path(Path(path)) as temporary:
        chapters_file = listing.with_name("chapters.ffmeta")
        chapters_file.write_text(ffmetadata(document, narration), encoding="utf-8")
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", listing, "-i", chapters_file, "-map", "0:a",
                    "-map_metadata", "1", "-map_chapters", "1", "-c:a", "aac", "-aac_coder", "fast", "-b:a", f"{bitrate_kbps}k", "-ac", "1",
                    "-ar", "44100", "-movflags", "+faststart", "-fflags", "+bitexact", "-f", "ipod", temporary],
                   what=str(path))
        tags = MP4(temporary)
        tags["\xa9nam"] = [metadata.title]
        tags["\xa9alb"] = [metadata.title]
        tags["\xa9ART"] = [metadata.author or "reviewpub"]
        tags["aART"] = [metadata.author or "reviewpub"]
        tags["\xa9gen"] = ["Audiobook"]
        tags["\xa9day"] = [metadata.date or metadata.modified.strftime("%Y-%m-%d")]
        tags["stik"] = [2]  # audiobook
        if cover_jpeg:
            tags["covr"] = [MP4Cover(cover_jpeg, imageformat=MP4Cover.FORMAT_JPEG)]
        tags[INPUT_DIGEST_ATOM] = [MP4FreeForm(input_digest.encode("ascii"))]
        tags.save()
    return Path(path)


def write_book_mp3(document: Document, narration: Narration, path: Path, *, cover_jpeg: bytes | None,
                   bitrate_kbps: int = 96) -> Path:
    """One MP3 of the whole book with ID3v2.4 CHAP frames under a CTOC table of contents."""
    from mutagen.id3 import APIC, CHAP, COMM, CTOC, ID3, TALB, TCON, TDRC, TIT2, TLAN, TPE1, TPE2, TXXX, CTOCFlags

    from reviewpub.writers.mp3 import INPUT_DIGEST_FRAME, stored_digest

    metadata = document.metadata
    input_digest = book_digest(document, narration, cover_jpeg, "mp3", bitrate_kbps)
    if stored_digest(Path(path)) == input_digest:
        return Path(path)
    with concat_list(narration) as listing, atomic_path(Path(path)) as temporary:
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", listing, "-map_metadata", "-1", "-ar", "44100", "-ac", "1",
                    "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-compression_level", str(MP3_QUALITY),
                    "-id3v2_version", "0", "-f", "mp3", temporary], what=str(path))
        artist = metadata.author or "reviewpub"
        language = language_code(metadata.language)
        tags = ID3()
        tags.add(TIT2(encoding=3, text=metadata.title))
        tags.add(TALB(encoding=3, text=metadata.title))
        tags.add(TPE1(encoding=3, text=artist))
        tags.add(TPE2(encoding=3, text=artist))
        tags.add(TCON(encoding=3, text="Speech"))
        tags.add(TDRC(encoding=3, text=metadata.date or metadata.modified.strftime("%Y-%m-%d")))
        tags.add(TLAN(encoding=3, text=language))
        tags.add(COMM(encoding=3, lang=language, desc="", text=f"Narrated by reviewpub with {narration.engine} ({narration.voice})"))
        if cover_jpeg:
            tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover_jpeg))
        element_ids = []
        for number, (chapter, (start, end)) in enumerate(zip(narration.chapters, chapter_starts(narration)), start=1):
            element_id = f"chp{number}"
            element_ids.append(element_id)
            tags.add(CHAP(element_id=element_id, start_time=round(start * 1000), end_time=round(end * 1000),
                          sub_frames=[TIT2(encoding=3, text=chapter.title)]))
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=element_ids,
                      sub_frames=[TIT2(encoding=3, text="Chapters")]))
        tags.add(TXXX(encoding=3, desc=INPUT_DIGEST_FRAME, text=input_digest))
        tags.save(temporary, v2_version=4)
    return Path(path)
