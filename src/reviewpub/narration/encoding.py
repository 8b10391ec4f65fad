"""Chapter MP3s encoded into the cache while later chapters are still being narrated.

Encoding a chapter (ffmpeg: resampling and LAME) costs about three times what eSpeak NG's
synthesis of it costs, and it is a process of its own. Started as soon as a chapter's WAV is
in the cache, it runs on the core that synthesis leaves idle (with ``--jobs 1``, the second
core; with more jobs, in the gaps), instead of after the whole narration. The MP3 writer then
copies the cached encoding and only tags it (``cache.copy_encoded``); what it cannot find or
trust, it encodes itself with the same ``encode_mp3`` on the same WAV, so the bytes are the
same either way, in every run and after any interruption.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from pathlib import Path
from types import TracebackType

from reviewpub.errors import WriterError
from reviewpub.media import encode_mp3, mp3_encoding
from reviewpub.narration.cache import NarrationCache
from reviewpub.narration.settings import AudioSettings

logger = logging.getLogger(__name__)


class ChapterEncoder:
    """Encodes narrated chapters into the cache, ``workers`` ffmpeg processes at a time, in the background.

    Use as a context manager: leaving the block normally waits for every encoding; leaving it
    by an exception (Ctrl-C, a failed chapter) drops those not started and waits only for the
    running ones, which take seconds.
    """

    def __init__(self, cache: NarrationCache, settings: AudioSettings, workers: int) -> None:
        """Encode for ``settings`` into ``cache``; threads only wait on ffmpeg, so they cost no core."""
        self.cache = cache
        self.settings = settings
        self.encoding = mp3_encoding(settings)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="chapter-encoder"
        )
        self.pending: list[concurrent.futures.Future[None]] = []
        self.lock = threading.Lock()
        self.is_closed = False
        self.submitted: set[Path] = set()

    def submit(self, chapter_wav: Path) -> None:
        """Start encoding the cached chapter WAV (or queue it behind the running encodings).

        Safe from any thread (a process pool's callbacks); a chapter submitted again is
        encoded once; once the encoder is closed, a chapter is left to the MP3 writer.
        """
        with self.lock:
            if not self.is_closed and chapter_wav not in self.submitted:
                self.submitted.add(chapter_wav)
                self.pending.append(self.pool.submit(self.encode, chapter_wav))

    def encode(self, chapter_wav: Path) -> None:
        """Encode one chapter into a scratch file, then move it into the cache beside its WAV.

        An encoding that fails is only logged: the MP3 writer encodes that chapter itself and
        reports the failure with the file it was making.
        """
        scratch = self.cache.scratch_file(".mp3")
        try:
            encode_mp3(chapter_wav, scratch, self.settings)
            self.cache.put_encoded(chapter_wav, self.encoding, scratch)
        except WriterError as error:
            logger.debug("encoding %s in the background failed (%s); the MP3 writer will encode it", chapter_wav, error)
        finally:
            scratch.unlink(missing_ok=True)

    def finish(self) -> None:
        """Wait for every encoding submitted (a bug in one is raised, not hidden)."""
        try:
            with self.lock:
                self.is_closed = True
            for future in self.pending:
                future.result()
        finally:
            self.pool.shutdown(wait=True)

    def cancel(self) -> None:
        """Drop the encodings not started and wait for the running ones."""
        with self.lock:
            self.is_closed = True
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ChapterEncoder:
        """The encoder, ready for chapters."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Wait for all encodings, or on an exception only for those already running."""
        if kind is None:
            self.finish()
        else:
            self.cancel()
