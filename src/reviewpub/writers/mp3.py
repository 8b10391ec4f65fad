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
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.files import atomic_path
from reviewpub.layout import chapter_mp3_name
from reviewpub.media import MP3_QUALITY, EncodedCopy, digest, encode_mp3, mp3_encoding
from reviewpub.progress import NullProgress, Progress
from reviewpub.writers.id3 import chapter_transcript, frames_digest, stored_digests, tag_frames, write_tags

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.narration.model import ChapterNarration, Narration
    from reviewpub.narration.settings import AudioSettings

logger = logging.getLogger(__name__)
CHAPTER_FILE = re.compile(r"^\d{2,4}-[^/]+\.mp3$")
"""Names this writer gives its files; others in the folder are never touched."""


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
