"""Chapter MP3s: one per top-level chapter, encoded once from its PCM and tagged (ID3v2.4).

A chapter whose inputs have not changed keeps its MP3: the digest of everything that went
into it is stored in a TXXX frame and compared before encoding.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.files import atomic_path
from reviewpub.narration.audio import encode_mp3
from reviewpub.narration.cache import digest
from reviewpub.narration.model import ChapterNarration
from reviewpub.progress import NullProgress, Progress

if TYPE_CHECKING:
    from reviewpub.document import Chapter, Document
    from reviewpub.narration.model import Narration
    from reviewpub.narration.settings import AudioSettings

logger = logging.getLogger(__name__)
INPUT_DIGEST_FRAME = "reviewpub-input"
ISO_639_2 = {
    "en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "pt": "por", "nl": "nld", "da": "dan",
    "sv": "swe", "no": "nor", "nb": "nob", "fi": "fin", "pl": "pol", "ru": "rus", "uk": "ukr", "cs": "ces",
    "el": "ell", "tr": "tur", "ja": "jpn", "zh": "zho", "ko": "kor", "ar": "ara", "he": "heb", "hi": "hin",
}
"""ID3's TLAN wants ISO 639-2 codes; the document speaks BCP 47."""
CHAPTER_FILE = re.compile(r"^\d{2,4}-.+\.mp3$")


def language_code(language: str) -> str:
    """``en-GB`` → ``eng`` (``und`` when unknown)."""
    return ISO_639_2.get(language.split("-")[0].lower(), "und")


def chapter_transcript(chapter: Chapter) -> str:
    """The chapter's text for USLT: headings and paragraphs on their own lines."""
    lines = []
    for section in chapter.walk():
        lines.append(section.title)
        for block in section.blocks:
            from reviewpub.document import block_sentences

            lines.append(" ".join(sentence.text for sentence in block_sentences(block)))
    return "\n\n".join(lines)


def tag_frames(document: Document, chapter_narration: ChapterNarration, total: int, engine: str, voice: str,
               cover_jpeg: bytes | None, transcript: str | None) -> list[object]:
    """The ID3v2.4 frames of one file."""
    from mutagen.id3 import APIC, COMM, TALB, TCON, TDRC, TIT2, TLAN, TPE1, TPE2, TRCK, USLT

    metadata = document.metadata
    artist = metadata.author or "reviewpub"
    language = language_code(metadata.language)
    year = metadata.date or metadata.modified.strftime("%Y-%m-%d")
    frames: list[object] = [
        TIT2(encoding=3, text=chapter_narration.title),
        TALB(encoding=3, text=metadata.title),
        TPE1(encoding=3, text=artist),
        TPE2(encoding=3, text=artist),
        TRCK(encoding=3, text=f"{chapter_narration.number}/{total}"),
        TCON(encoding=3, text="Speech"),
        TDRC(encoding=3, text=year),
        TLAN(encoding=3, text=language),
        COMM(encoding=3, lang=language, desc="", text=f"Narrated by reviewpub with {engine} ({voice})"),
    ]
    if transcript:
        frames.append(USLT(encoding=3, lang=language, desc="", text=transcript))
    if cover_jpeg:
        frames.append(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover_jpeg))
    return frames


def write_tags(path: Path, frames: list[object], input_digest: str) -> None:
    """Write ID3v2.4 tags (and the input digest) to an MP3 file."""
    from mutagen.id3 import ID3, TXXX

    tags = ID3()
    for frame in frames:
        tags.add(frame)
    tags.add(TXXX(encoding=3, desc=INPUT_DIGEST_FRAME, text=input_digest))
    tags.save(path, v2_version=4)


def stored_digest(path: Path) -> str | None:
    """The input digest recorded in an existing MP3, if any."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    if not path.is_file():
        return None
    try:
        frame = ID3(path).get(f"TXXX:{INPUT_DIGEST_FRAME}")
    except (MutagenError, OSError, ValueError):
        return None
    return str(frame.text[0]) if frame is not None and frame.text else None


def encode_tagged(wav: Path, path: Path, audio: AudioSettings, frames: list[object], input_digest: str) -> Path:
    """Encode and tag into a temporary file, then rename it into place."""
    with atomic_path(path) as temporary:
        encode_mp3(wav, temporary, audio)
        write_tags(temporary, frames, input_digest)
    return path


def write_chapter_mp3s(
    document: Document,
    narration: Narration,
    folder: Path,
    *,
    audio: AudioSettings,
    cover_jpeg: bytes | None,
    jobs: int | None = None,
    progress: Progress = NullProgress(),
) -> list[Path]:
    """Write ``NN-<chapter>.mp3`` for every chapter into ``folder``; unchanged ones are kept."""
    chapters = {chapter.id: chapter for chapter in document.chapters}
    total = len(narration.chapters)
    cover_digest = hashlib.sha256(cover_jpeg or b"").hexdigest()
    planned: list[tuple[ChapterNarration, Path, list[object], str]] = []
    for chapter_narration in narration.chapters:
        path = Path(folder) / f"{chapter_narration.file_stem}.mp3"
        transcript = chapter_transcript(chapters[chapter_narration.chapter_id])
        frames = tag_frames(document, chapter_narration, total, narration.engine, narration.voice, cover_jpeg, transcript)
        input_digest = digest("mp3", chapter_narration.wav_path.name, audio.bitrate_kbps, audio.sample_rate,
                              audio.channels, [repr(frame) for frame in frames if not hasattr(frame, "data")], cover_digest)
        planned.append((chapter_narration, path, frames, input_digest))
    remove_stale_files(Path(folder), {path.name for _, path, _, _ in planned})
    to_encode = [item for item in planned if stored_digest(item[1]) != item[3]]
    logger.debug("%d of %d chapter MP3s need encoding", len(to_encode), len(planned))
    progress.start(len(to_encode), "Encoding")
    try:
        workers = max(1, min(jobs or os.cpu_count() or 1, len(to_encode) or 1))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(encode_tagged, item[0].wav_path, item[1], audio, item[2], item[3]) for item in to_encode]
            for future in concurrent.futures.as_completed(futures):
                future.result()
                progress.advance()
    finally:
        progress.finish()
    return [path for _, path, _, _ in planned]


def remove_stale_files(folder: Path, keep: set[str]) -> None:
    """Remove chapter MP3s of an earlier build whose chapter no longer exists."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if CHAPTER_FILE.match(path.name) and path.name not in keep:
            path.unlink()
