"""The local process pool that speaks chapters, and what its workers share with the main process.

A worker speaks one chapter (``chapter.narrate_chapter``). Chapters not in the cache run in
worker processes (libespeak-ng is a per-process singleton); workers send back clip positions
and a WAV path, never audio, so memory stays flat whatever the length of the book. Ctrl-C
stops the workers between two sentences.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from reviewpub.errors import EngineError, EngineUnavailable, ReviewpubError, SettingsError
from reviewpub.narration.cache import CachedChapter
from reviewpub.narration.plan import ChapterJob
from reviewpub.progress import Progress

TITLE_IN_ERRORS = 48
"""Characters of a chapter title quoted in an error message before it is cut with "…"."""
POLL_SECONDS = 0.1
REPORT_SECONDS = 0.25
"""How often a worker tells the main process how far it has got (and once more at the end of
each chapter). A message per sentence cost the main process about 80 µs of CPU each (a poll, a
read and an unpickling: 0.23 s for a quarter of the book) and the worker a pickle and a write;
a progress bar needs no more than a few updates a second."""


@dataclass(frozen=True)
class ChapterResult:
    """A narrated chapter as stored in the cache, and how many clips the engine had to make."""

    number: int
    chapter: CachedChapter
    synthesized: int
    cached: int


class NarrationCancelled(Exception):
    """A worker stopped because the main process was interrupted."""


def short_title(title: str) -> str:
    """A chapter title short enough for a one-line error message, cut between words."""
    if len(title) <= TITLE_IN_ERRORS:
        return title
    cut = title[: TITLE_IN_ERRORS - 1]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cut.rstrip(" :;,.-–—") + "…"


def engine_failure(job: ChapterJob, index: int, error: ReviewpubError) -> ReviewpubError:
    """The engine's error, saying where it happened: ``chapter 3 'Stellar Cast…', sentence 2: …``."""
    message = f"chapter {job.number} '{short_title(job.title)}', sentence {index}: {error}"
    for kind in (EngineUnavailable, SettingsError):
        if isinstance(error, kind):
            return kind(message)
    return EngineError(message)


class Worker:
    """What a narration process knows besides its job: where to report, and whether to stop."""

    progress: Any = None
    """A SimpleQueue receiving (chapter number, lines done, seconds of audio), in worker processes."""
    stop: Any = None
    """An Event the main process sets on Ctrl-C or when a chapter failed."""
    unsent: tuple[int, int, float] = (0, 0, 0.0)
    """Progress not yet sent: chapter number, lines, seconds of audio."""
    last_sent = 0.0
    """When progress was last sent (by ``clock``)."""
    clock = staticmethod(time.monotonic)

    @classmethod
    def start(cls, progress: Any, stop: Any) -> None:
        """Pool initializer: Ctrl-C is the main process's to handle; die with it if it is killed."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cls.progress, cls.stop = progress, stop
        if sys.platform.startswith("linux"):
            import ctypes

            set_parent_death_signal = 1  # PR_SET_PDEATHSIG
            ctypes.CDLL(None).prctl(set_parent_death_signal, signal.SIGKILL)

    @classmethod
    def should_stop(cls) -> bool:
        """True once the main process asked the workers to stop."""
        return cls.stop is not None and bool(cls.stop.is_set())

    @classmethod
    def report(cls, number: int, lines: int, audio_s: float) -> None:
        """Tell the main process that ``lines`` more lines of chapter ``number`` (``audio_s`` seconds) are done.

        Gathered and sent every ``REPORT_SECONDS`` (``send`` sends the rest at the end of a chapter).
        """
        if cls.progress is None:
            return
        chapter, unsent_lines, unsent_s = cls.unsent
        if unsent_lines and chapter != number:
            cls.send()
            unsent_lines, unsent_s = 0, 0.0
        cls.unsent = (number, unsent_lines + lines, unsent_s + audio_s)
        if cls.clock() - cls.last_sent >= REPORT_SECONDS:
            cls.send()

    @classmethod
    def send(cls) -> None:
        """Send the progress gathered so far, if any."""
        if cls.progress is not None and cls.unsent[1]:
            cls.progress.put(cls.unsent)
            cls.unsent = (0, 0, 0.0)
            cls.last_sent = cls.clock()


def speak_chapter(job: ChapterJob, report: Callable[[int, int, float], None] = Worker.report) -> ChapterResult:
    """``chapter.narrate_chapter``, imported only when a chapter is to be spoken.

    The chapter code needs numpy and the levelling code: with worker processes they load there,
    not in the main process, which only plans, encodes and publishes (0.07 s less before the
    first sentence), and a run with every chapter cached never loads them.
    """
    from reviewpub.narration.chapter import narrate_chapter

    try:
        return narrate_chapter(job, report)
    finally:
        Worker.send()


def run_in_pool(
    jobs: list[ChapterJob],
    workers: int,
    progress: Progress,
    narrated: Callable[[ChapterResult], None] = lambda result: None,
    while_waiting: Callable[[], None] = lambda: None,
) -> dict[int, ChapterResult]:
    """Narrate chapters in worker processes; on a failure or Ctrl-C, stop them all and raise.

    ``while_waiting`` is this process's own work, done once the chapters are handed out;
    its exception stops the workers like a failed chapter's.

    ``narrated`` is called with each chapter as soon as it is done, on the pool's own thread
    (so without waiting for the next poll), and again from this loop: it must be thread-safe
    and take a chapter twice. Workers
    stop between two sentences; every clip made so far is in the cache, so the next run
    resumes where this one stopped. Of several failures, the earliest chapter's is raised.
    """
    titles = {job.number: job.title for job in jobs}
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    queue = context.SimpleQueue()
    stop = context.Event()
    results: dict[int, ChapterResult] = {}
    failures: dict[int, BaseException] = {}

    def drain() -> None:
        while not queue.empty():
            number, lines, audio_s = queue.get()
            progress.advance(lines, titles[number], audio_s=audio_s)

    with concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=Worker.start, initargs=(queue, stop)
    ) as pool:
        futures = {pool.submit(speak_chapter, job): job.number for job in jobs}
        for future in futures:
            future.add_done_callback(
                lambda done: narrated(done.result()) if not done.cancelled() and done.exception() is None else None
            )
        try:
            while_waiting()
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, timeout=POLL_SECONDS, return_when=concurrent.futures.FIRST_COMPLETED
                )
                drain()
                for future in done:
                    error = None if future.cancelled() else future.exception()
                    if error is None and not future.cancelled():
                        results[futures[future]] = future.result()
                        # Usually a no-op: the callback got there first, without waiting for this poll.
                        narrated(results[futures[future]])
                    elif error is not None and not isinstance(error, NarrationCancelled):
                        failures[futures[future]] = error
                        stop.set()
                        for other in pending:
                            other.cancel()
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise
        finally:
            drain()
    if failures:
        first = min(failures)
        if isinstance(failures[first], BrokenProcessPool):
            raise EngineError(
                f"chapter {first} '{short_title(titles[first])}': a narration worker died "
                f"({failures[first]}); run again with --jobs 1 to see why"
            ) from failures[first]
        raise failures[first]
    return results
