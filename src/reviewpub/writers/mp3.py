"""Chapter MP3s: one per top-level chapter, encoded once from its final PCM and tagged (ID3v2.4).

Each file is encoded (or copied from the encoding narration left in its cache) and tagged
under a temporary name and renamed into place, so a failed or interrupted build never leaves
a partial MP3. Two digests are stored in ``TXXX`` frames:
one of the audio's inputs (the chapter WAV's cache key, format, encoder) and one of the tags.
A chapter whose audio digest matches is not encoded again; if only its tags changed (a new
author, a new cover), the tags alone are rewritten.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.document import ListBlock, block_sentences
from reviewpub.files import atomic_path
from reviewpub.layout import chapter_mp3_name
from reviewpub.media import INPUT_DIGEST_FRAME, MP3_QUALITY, EncodedCopy, digest, encode_mp3, mp3_encoding
from reviewpub.progress import NullProgress, Progress

if TYPE_CHECKING:
    from reviewpub.document import Chapter, Document
    from reviewpub.narration.model import ChapterNarration, Narration
    from reviewpub.narration.settings import AudioSettings

logger = logging.getLogger(__name__)
TAGS_DIGEST_FRAME = "reviewpub-tags"
"""``TXXX`` description of the digest of an MP3's tags."""
NARRATOR_CREDIT = "reviewpub"
"""Artist when the review names no author."""
GENRE = "Speech"
ISO_639_2 = {
    "af": "afr",
    "am": "amh",
    "ar": "ara",
    "az": "aze",
    "be": "bel",
    "bg": "bul",
    "bn": "ben",
    "bs": "bos",
    "ca": "cat",
    "cs": "ces",
    "cy": "cym",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "eo": "epo",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "fas",
    "fi": "fin",
    "fr": "fra",
    "ga": "gle",
    "gd": "gla",
    "gl": "glg",
    "gu": "guj",
    "he": "heb",
    "hi": "hin",
    "hr": "hrv",
    "hu": "hun",
    "hy": "hye",
    "id": "ind",
    "is": "isl",
    "it": "ita",
    "ja": "jpn",
    "ka": "kat",
    "kk": "kaz",
    "kn": "kan",
    "ko": "kor",
    "ku": "kur",
    "ky": "kir",
    "la": "lat",
    "lt": "lit",
    "lv": "lav",
    "mk": "mkd",
    "ml": "mal",
    "mn": "mon",
    "mr": "mar",
    "ms": "msa",
    "mt": "mlt",
    "my": "mya",
    "nb": "nob",
    "ne": "nep",
    "nl": "nld",
    "nn": "nno",
    "no": "nor",
    "pa": "pan",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "si": "sin",
    "sk": "slk",
    "sl": "slv",
    "sq": "sqi",
    "sr": "srp",
    "sv": "swe",
    "sw": "swa",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tr": "tur",
    "uk": "ukr",
    "ur": "urd",
    "uz": "uzb",
    "vi": "vie",
    "zh": "zho",
}
"""ID3's ``TLAN`` wants ISO 639-2 codes; documents carry BCP 47 tags."""
CHAPTER_FILE = re.compile(r"^\d{2,4}-[^/]+\.mp3$")
"""Names this writer gives its files; others in the folder are never touched."""


def language_code(language: str) -> str:
    """``en-GB`` → ``eng``; a three-letter tag is kept; ``und`` when unknown."""
    primary = language.split("-")[0].lower()
    if len(primary) == 3 and primary.isalpha():
        return primary
    return ISO_639_2.get(primary, "und")


def chapter_transcript(chapter: Chapter) -> str:
    """The chapter's text for ``USLT``: each heading and paragraph (or list item) on its own line."""
    paragraphs = []
    for section in chapter.walk():
        paragraphs.append(section.heading.text)
        for block in section.blocks:
            if isinstance(block, ListBlock):
                paragraphs += [" ".join(sentence.text for sentence in item) for item in block.items]
            else:
                paragraphs.append(" ".join(sentence.text for sentence in block_sentences(block)))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def narrator_comment(engine: str, voice: str) -> str:
    """The ``COMM`` text naming the engine and voice."""
    return f"Narrated by reviewpub with {engine} ({voice})"


def release_date(document: Document) -> str:
    """The date tags say: the document's date, else the day it was last modified."""
    return document.metadata.date or document.metadata.modified.strftime("%Y-%m-%d")


def book_frames(document: Document, title: str, engine: str, voice: str, cover_jpeg: bytes | None) -> list[Any]:
    """The ID3v2.4 frames every MP3 of a book carries: ``title``, album, artists, genre Speech,
    date, language, a comment naming the engine and voice, and the cover."""
    from mutagen.id3 import APIC, COMM, TALB, TCON, TDRC, TIT2, TLAN, TPE1, TPE2

    metadata = document.metadata
    artist = metadata.author or NARRATOR_CREDIT
    language = language_code(metadata.language)
    frames: list[Any] = [
        TIT2(encoding=3, text=title),
        TALB(encoding=3, text=metadata.title),
        TPE1(encoding=3, text=artist),
        TPE2(encoding=3, text=artist),
        TCON(encoding=3, text=GENRE),
        TDRC(encoding=3, text=release_date(document)),
        TLAN(encoding=3, text=language),
        COMM(encoding=3, lang=language, desc="", text=narrator_comment(engine, voice)),
    ]
    if cover_jpeg:
        frames.append(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover_jpeg))
    return frames


def tag_frames(
    document: Document,
    chapter: ChapterNarration,
    total: int,
    engine: str,
    voice: str,
    cover_jpeg: bytes | None,
    transcript: str,
) -> list[Any]:
    """The ID3v2.4 frames of one chapter file (the digests aside): the book's, plus the
    chapter's track number and its text as lyrics."""
    from mutagen.id3 import TRCK, USLT

    language = language_code(document.metadata.language)
    return [
        *book_frames(document, chapter.title, engine, voice, cover_jpeg),
        TRCK(encoding=3, text=f"{chapter.number}/{total}"),
        USLT(encoding=3, lang=language, desc="", text=transcript),
    ]


def frames_digest(frames: list[Any]) -> str:
    """A digest of tag frames, pictures included (by their bytes' hash)."""
    return digest(
        [
            [frame.HashKey, repr(frame) if not hasattr(frame, "data") else hashlib.sha256(frame.data).hexdigest()]
            for frame in frames
        ]
    )


def write_tags(path: Path, frames: list[Any], audio_digest: str, tags_digest: str) -> None:
    """Replace the ID3 tag of ``path`` by ``frames`` and the two digests (ID3v2.4)."""
    from mutagen.id3 import ID3, TXXX

    tags = ID3()
    for frame in frames:
        tags.add(frame)
    tags.add(TXXX(encoding=3, desc=INPUT_DIGEST_FRAME, text=audio_digest))
    tags.add(TXXX(encoding=3, desc=TAGS_DIGEST_FRAME, text=tags_digest))
    tags.save(path, v2_version=4)


def stored_digests(path: Path) -> tuple[str | None, str | None]:
    """The (audio, tags) digests recorded in an existing MP3; None for what is missing."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    if not path.is_file():
        return None, None
    try:
        tags = ID3(path)
    except (MutagenError, OSError, ValueError):
        return None, None

    def text(description: str) -> str | None:
        frame = tags.get(f"TXXX:{description}")
        return str(frame.text[0]) if frame is not None and frame.text else None

    return text(INPUT_DIGEST_FRAME), text(TAGS_DIGEST_FRAME)


@dataclass(frozen=True)
class PlannedFile:
    """One chapter MP3: where it goes, what it is made of, and what it should say."""

    chapter: ChapterNarration
    path: Path
    frames: list[Any]
    audio_digest: str
    tags_digest: str


def encode_chapter(planned: PlannedFile, audio: AudioSettings, copy_encoded: EncodedCopy | None) -> None:
    """Encode and tag into a temporary file, then rename it into place.

    Narration encodes each chapter into the cache as soon as it is spoken; that encoding is
    copied when the cache has a whole one (``copy_encoded``), and made here otherwise (the same bytes).
    """
    with atomic_path(planned.path) as temporary:
        if copy_encoded is None or not copy_encoded(planned.chapter.wav_path, mp3_encoding(audio), temporary):
            encode_mp3(planned.chapter.wav_path, temporary, audio)
        write_tags(temporary, planned.frames, planned.audio_digest, planned.tags_digest)


def retag_chapter(planned: PlannedFile) -> None:
    """Rewrite only the tags of an MP3 whose audio is current (on a copy, renamed into place)."""
    with atomic_path(planned.path) as temporary:
        shutil.copyfile(planned.path, temporary)
        write_tags(temporary, planned.frames, planned.audio_digest, planned.tags_digest)


def plan_files(
    document: Document, narration: Narration, folder: Path, audio: AudioSettings, cover_jpeg: bytes | None
) -> list[PlannedFile]:
    """Every chapter's file, frames and digests."""
    chapters = {chapter.id: chapter for chapter in document.chapters}
    total = len(narration.chapters)
    planned = []
    for chapter_narration in narration.chapters:
        chapter = chapters.get(chapter_narration.chapter_id)
        transcript = chapter_transcript(chapter) if chapter is not None else chapter_narration.title
        frames = tag_frames(
            document, chapter_narration, total, narration.engine, narration.voice, cover_jpeg, transcript
        )
        audio_digest = digest(
            "chapter-mp3",
            chapter_narration.wav_path.name,
            chapter_narration.sample_count,
            audio.bitrate_kbps,
            audio.sample_rate,
            audio.channels,
            MP3_QUALITY,
        )
        planned.append(
            PlannedFile(
                chapter_narration,
                Path(folder) / chapter_mp3_name(chapter_narration.file_stem),
                frames,
                audio_digest,
                frames_digest(frames),
            )
        )
    return planned


def write_chapter_mp3s(
    document: Document,
    narration: Narration,
    folder: Path,
    *,
    audio: AudioSettings,
    cover_jpeg: bytes | None,
    jobs: int | None = None,
    progress: Progress = NullProgress(),
    copy_encoded: EncodedCopy | None = None,
) -> list[Path]:
    """Write ``NN-<chapter-id>.mp3`` for every chapter into ``folder`` (``output/<name>/audio``).

    Files whose audio and tags are current are kept as they are; chapter MP3s of chapters
    that no longer exist are removed. Encodings run in parallel (``jobs``, default the CPU
    count), each an ffmpeg process. ``copy_encoded`` (narration's cache passes its own) copies
    an encoding made while narrating; without it, every chapter is encoded here.

    Raises:
        WriterError: ffmpeg failed or the folder cannot be written; no partial file is left.
    """
    planned = plan_files(document, narration, Path(folder), audio, cover_jpeg)
    to_encode, to_retag = [], []
    for item in planned:
        audio_digest, tags_digest = stored_digests(item.path)
        if audio_digest != item.audio_digest:
            to_encode.append(item)
        elif tags_digest != item.tags_digest:
            to_retag.append(item)
    logger.debug("%d of %d chapter MP3s to encode, %d to retag", len(to_encode), len(planned), len(to_retag))
    progress.start(len(to_encode) + len(to_retag), "Encoding")
    try:
        for item in to_retag:
            retag_chapter(item)
            progress.advance(1, item.path.name)
        if to_encode:
            cores = os.cpu_count() or 1
            workers = max(1, min(jobs or cores, cores, len(to_encode)))
            with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(encode_chapter, item, audio, copy_encoded): item for item in to_encode}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        future.result()
                        progress.advance(1, futures[future].path.name)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    finally:
        progress.finish()
    remove_stale_files(Path(folder), {item.path.name for item in planned})
    return [item.path for item in planned]


def remove_stale_files(folder: Path, keep: set[str]) -> None:
    """Remove chapter MP3s of an earlier build whose chapter no longer exists."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if CHAPTER_FILE.match(path.name) and path.name not in keep:
            path.unlink(missing_ok=True)
