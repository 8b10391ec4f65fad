"""The stages in order for one review: source → Document → Narration → writers.

Each ``publish_*`` function takes a parsed Document and writes one family of outputs;
``build`` narrates once and hands the same Narration to every writer (``publishing`` runs it
for every review of a build, then the show). Nothing here parses
text, renders XML or touches audio samples: it only decides what goes where.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.errors import WriterError
from reviewpub.files import describe_os_error
from reviewpub.layout import FEED_NAME, ReviewLayout, from_review
from reviewpub.options import BuildOptions
from reviewpub.progress import NullProgress, Progress
from reviewpub.staging import stage

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.engines.base import Engine
    from reviewpub.narration.lexicon import Lexicon
    from reviewpub.narration.model import Narration
    from reviewpub.narration.ray_executor import RayExecutor

logger = logging.getLogger(__name__)


@dataclass
class Result:
    """What a publish step wrote, and what to tell the user about it."""

    paths: list[Path] = field(default_factory=list)
    narration: Narration | None = None

    def summary(self) -> str:
        """One line for the end of a run: files, duration, engine, cache hits."""
        text = f"{len(self.paths)} files written"
        if self.narration is not None:
            narration = self.narration
            minutes, seconds = divmod(round(narration.duration_s), 60)
            spoken = narration.synthesized + narration.cached
            text += (
                f"; {minutes}:{seconds:02d} of audio by {narration.engine} ({narration.voice}); "
                f"{narration.synthesized} of {spoken} sentences synthesised, {narration.cached} from the cache"
            )
        return text


@contextlib.contextmanager
def output_lock(options: BuildOptions, document: Document) -> Iterator[None]:
    """Hold an exclusive lock on the document's outputs; a second run waits for the first."""
    with named_lock(options.output, document.name):
        yield


@contextlib.contextmanager
def named_lock(output: Path, name: str) -> Iterator[None]:
    """Hold ``output/.NAME.lock`` exclusively (a review's, or ``.show.lock`` for the show's files)."""
    lock = output / f".{name}.lock"
    try:
        output.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a symlink planted in place of the lock must not create or touch its target.
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        handle = os.fdopen(descriptor, "r+b")
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise WriterError(f"{lock}: a symbolic link stands where reviewpub keeps its lock; remove it") from None
        raise WriterError(f"{output}: cannot write here ({describe_os_error(error)})") from error
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("Waiting for another reviewpub run writing %s ...", name)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cover_jpeg(document: Document) -> bytes:
    """The cover as JPEG bytes: the user's image, or one drawn from the title."""
    from reviewpub.cover import make_cover

    return make_cover(document.metadata)


def publish_epub(document: Document, options: BuildOptions) -> Path:
    """Write the accessible text EPUB to ``output/<name>.epub``."""
    from reviewpub.writers.epub import write_epub

    with output_lock(options, document):
        epub_name = options.layout(document).epub_name
        with stage(options.output, document.name, lambda relative: relative == epub_name) as staging:
            (path,) = staging.publishes([write_epub(document, ReviewLayout(staging.root, document.name).epub)])
        return path


def read_options_lexicon(options: BuildOptions) -> Lexicon | None:
    """The user's pronunciation lexicon, if one was given."""
    if options.lexicon is None:
        return None
    from reviewpub.narration.lexicon_files import load_lexicon

    return load_lexicon(options.lexicon)


def engine_for(options: BuildOptions) -> Engine:
    """The engine the user asked for, chosen once for the whole build."""
    from reviewpub.engines import choose_engine

    return choose_engine(options.engine, **dict(options.engine_options))


@dataclass(frozen=True)
class Voicing:
    """Who reads a document, settled before anything is written: engine, voice, lexicon."""

    engine: Engine
    voice: str
    lexicon: Lexicon | None
    executor: RayExecutor | None = None
    """The Ray cluster that synthesises, joined once; None for local worker processes."""


def prepare_voicing(document: Document, options: BuildOptions) -> Voicing:
    """Choose the engine, voice, lexicon and executor, checking each before any output exists.

    Raises:
        EngineUnavailable, SettingsError: a bad engine, voice, model or lexicon, no GPU for
            ``--device cuda``, no Ray or no reachable cluster for ``--executor ray`` (one line each).
    """
    lexicon = read_options_lexicon(options)
    engine = engine_for(options)
    voice = engine.choose_voice(options.voice, document.metadata.language)
    return Voicing(engine, voice, lexicon, prepare_executor(options))


def prepare_executor(options: BuildOptions) -> RayExecutor | None:
    """Join the Ray cluster for ``--executor ray``; for a local ``--device cuda``, check the GPU here."""
    if options.executor == "ray":
        from reviewpub.narration.ray_executor import connect

        return connect(options.ray_address, device=options.device)
    if options.device == "cuda":
        from reviewpub.engines.piper_runtime import check_cuda

        check_cuda()
    return None


def narrate_review(
    document: Document, options: BuildOptions, voicing: Voicing, progress: Progress
) -> tuple[Narration, bytes]:
    """Speak every sentence of the document (cached), one audio file per chapter; and the cover.

    The cover is drawn while the worker processes speak (``while_speaking``): it is needed only
    by the writers, and drawing it first kept the first sentence waiting.
    """
    from reviewpub.narration import narrate

    covers: list[bytes] = []
    narration = narrate(
        document,
        voicing.engine,
        voice=voicing.voice,
        audio=options.audio_settings(),
        cache_dir=cache_directory(options),
        jobs=options.jobs,
        lexicon=voicing.lexicon,
        progress=progress,
        executor=voicing.executor,
        while_speaking=lambda: covers.append(cover_jpeg(document)),
    )
    return narration, covers[0]


def cache_directory(options: BuildOptions) -> Path:
    """``--cache-dir``, else ``$XDG_CACHE_HOME/reviewpub`` (``~/.cache/reviewpub``)."""
    if options.cache_dir is not None:
        return options.cache_dir
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "reviewpub"
    import platformdirs

    return Path(platformdirs.user_cache_dir("reviewpub"))


def write_audio(
    document: Document, narration: Narration, options: BuildOptions, folder: Path, cover: bytes, progress: Progress
) -> list[Path]:
    """Chapter MP3s and the playlist, from a finished narration, into ``folder`` (a staged ``output/NAME``)."""
    from reviewpub.narration.cache import copy_encoded
    from reviewpub.writers.mp3 import write_chapter_mp3s
    from reviewpub.writers.playlist import write_playlist

    review = ReviewLayout(folder.parent, document.name)
    paths = write_chapter_mp3s(
        document,
        narration,
        review.audio_folder,
        audio=options.audio_settings(),
        cover_jpeg=cover,
        jobs=options.jobs,
        progress=progress,
        copy_encoded=copy_encoded,
    )
    paths.append(write_playlist(narration, review.playlist, audio_folder=review.audio_folder))
    return paths


def publish_audio(document: Document, options: BuildOptions, progress: Progress = NullProgress()) -> Result:
    """``reviewpub audio``: narrate, then write chapter MP3s and the playlist."""
    voicing = prepare_voicing(document, options)
    with output_lock(options, document):
        narration, cover = narrate_review(document, options, voicing, progress)
        with stage(options.output, document.name, options.layout(document).is_audio_output) as staging:
            paths = staging.publishes(write_audio(document, narration, options, staging.folder, cover, progress))
        return Result(paths=paths, narration=narration)


def write_read_aloud(document: Document, narration: Narration, lexicon: Lexicon | None, folder: Path) -> Path:
    """The EPUB with every chapter's narration embedded and synchronised (Media Overlays).

    It embeds the chapter MP3s in ``folder``/audio, so they are written (or kept) first.
    """
    from reviewpub.writers.epub import write_epub
    from reviewpub.writers.overlays import ReadAloud

    read_aloud = ReadAloud(
        narration=narration,
        chapter_audio=chapter_audio_files(narration, folder),
        narrator=f"{narration.engine} ({narration.voice})",
        lexicon=lexicon,
    )
    return write_epub(document, ReviewLayout(folder.parent, document.name).read_aloud, read_aloud=read_aloud)


def chapter_audio_files(narration: Narration, folder: Path) -> dict[str, Path]:
    """chapter id → its MP3 in ``folder``/audio."""
    review = ReviewLayout(folder.parent, folder.name)
    return {chapter.chapter_id: review.chapter_mp3(chapter.file_stem) for chapter in narration.chapters}


def publish_read_aloud(document: Document, options: BuildOptions, progress: Progress = NullProgress()) -> list[Path]:
    """``reviewpub epub --read-aloud``: narrate (cached) and write the read-aloud EPUB."""
    voicing = prepare_voicing(document, options)
    with output_lock(options, document):
        narration, cover = narrate_review(document, options, voicing, progress)
        with stage(options.output, document.name, options.layout(document).is_read_aloud_output) as staging:
            staging.publishes(write_audio(document, narration, options, staging.folder, cover, progress))
            paths = staging.publishes([write_read_aloud(document, narration, voicing.lexicon, staging.folder)])
        return paths


def build(
    document: Document, options: BuildOptions, progress: Progress = NullProgress(), voicing: Voicing | None = None
) -> Result:
    """``reviewpub build``: one narration pass, then every writer (``voicing`` when already prepared)."""
    from reviewpub.cover import make_square_artwork
    from reviewpub.files import atomic_write
    from reviewpub.writers.audiobook import write_book_mp3, write_m4b
    from reviewpub.writers.captions import write_captions
    from reviewpub.writers.chapters import write_chapters_json
    from reviewpub.writers.epub import write_epub
    from reviewpub.writers.feed import write_feed
    from reviewpub.writers.site import SiteLinks, write_review_page
    from reviewpub.writers.transcript import write_review_transcripts

    voicing = voicing or prepare_voicing(document, options)
    with output_lock(options, document):
        narration, cover = narrate_review(document, options, voicing, progress)
        # Every file is made in the stage; they are published together, the feed last.
        with stage(options.output, document.name, options.layout(document).owns) as staging:
            folder = staging.folder
            review = ReviewLayout(staging.root, document.name)
            paths = [write_epub(document, review.epub)]
            paths += write_audio(document, narration, options, folder, cover, progress)
            paths.append(write_read_aloud(document, narration, voicing.lexicon, folder))
            paths.append(write_m4b(document, narration, review.m4b, cover_jpeg=cover))
            paths.append(
                write_book_mp3(
                    document,
                    narration,
                    review.book_mp3,
                    cover_jpeg=cover,
                    bitrate_kbps=options.audio_settings().bitrate_kbps,
                )
            )
            paths += write_captions(narration, review.captions_folder)
            # Whole-review transcripts: published with the review, so the show feed links to what is there.
            paths += write_review_transcripts(document, narration, folder)
            paths.append(write_chapters_json(narration, review.chapters_json))
            with atomic_write(review.cover) as handle:
                handle.write(make_square_artwork(document.metadata))
            paths.append(review.cover)
            links = SiteLinks(feed=from_review(FEED_NAME) if options.in_show else FEED_NAME, base_url=options.base_url)
            paths += write_review_page(document, narration, folder, links)
            paths.append(
                write_feed(
                    document,
                    narration,
                    folder,
                    review.feed,
                    base_url=options.base_url,
                    category=options.category,
                    explicit=options.explicit,
                )
            )
            paths = staging.publishes(paths)
        return Result(paths=paths, narration=narration)
