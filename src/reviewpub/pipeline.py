"""The stages in order: source → Document → Narration → writers.

Each ``publish_*`` function takes a parsed Document and writes one family of outputs;
``build`` narrates once and hands the same Narration to every writer. Nothing here parses
text, renders XML or touches audio samples: it only decides what goes where.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.errors import SettingsError, SourceError, WriterError
from reviewpub.files import describe_os_error
from reviewpub.layout import FEED_NAME, OutputLayout, ReviewLayout, from_review
from reviewpub.progress import NullProgress, Progress
from reviewpub.staging import stage
from reviewpub.writers.feed import DEFAULT_CATEGORY

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.engines.base import Engine
    from reviewpub.narration.lexicon import Lexicon
    from reviewpub.narration.model import Narration
    from reviewpub.narration.ray_executor import RayExecutor
    from reviewpub.narration.settings import AudioSettings
    from reviewpub.show import Episode, Show

logger = logging.getLogger(__name__)

SOURCE_SUFFIXES = (".txt", ".md", ".markdown", ".text")


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build needs besides the Document: where, which voice, what sound."""

    output: Path
    """The output folder (``output/``)."""
    engine: str = "piper"
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    """Constructor options of the engine that the user set (rate, pitch, tld, slow, voice_model, ...)."""
    voice: str | None = None
    lexicon: Path | None = None
    audio: AudioSettings | None = None
    """None means the defaults (podcast loudness, mono, 44.1 kHz, 96 kbps)."""
    cache_dir: Path | None = None
    """None means the user cache directory."""
    jobs: int | None = None
    executor: str = "local"
    """``local`` (worker processes here) or ``ray`` (synthesis on the cluster at ``ray_address``)."""
    ray_address: str | None = None
    device: str = "cpu"
    """``cuda``: Piper on onnxruntime's CUDA provider (here, or on the Ray cluster's GPUs)."""
    base_url: str | None = None
    category: tuple[str, ...] = DEFAULT_CATEGORY
    explicit: bool = False
    in_show: bool = False
    """The review is an episode of a folder's show: its page subscribes to the show's feed."""

    @classmethod
    def from_cli(
        cls,
        *,
        output: Path,
        engine: str = "piper",
        voice: str | None = None,
        voice_model: Path | None = None,
        speaker: str | None = None,
        voices_dir: Path | None = None,
        rate: int | None = None,
        pitch: int | None = None,
        tld: str | None = None,
        slow: bool | None = None,
        lexicon: Path | None = None,
        bitrate: int | None = None,
        sample_rate: str | None = None,
        stereo: bool = False,
        loudness: str = "podcast",
        cache_dir: Path | None = None,
        jobs: int | None = None,
        executor: str = "local",
        ray_address: str | None = None,
        device: str = "cpu",
        base_url: str | None = None,
        category: tuple[str, ...] = (),
        explicit: bool = False,
    ) -> BuildOptions:
        """Build options from command-line values, where ``None`` means "not given".

        Raises:
            SettingsError: a value is wrong (checked here, before anything is narrated or written).
        """
        from reviewpub.narration.settings import AudioSettings
        from reviewpub.writers.feed import feed_base_url, podcast_category

        if base_url is not None:
            feed_base_url(base_url)  # a bad --base-url must not wait for the feed, the last file written

        given = {
            "rate": rate,
            "pitch": pitch,
            "tld": tld,
            "slow": slow,
            "voice_model": voice_model,
            "speaker": speaker,
            "voices_dir": voices_dir,
        }
        if device != "cpu":
            if engine != "piper":
                raise SettingsError(f"--device {device}: only the piper engine runs on a GPU; use --device cpu")
            given["device"] = device
        audio = AudioSettings.from_options(
            loudness=loudness,
            bitrate_kbps=bitrate,
            sample_rate=int(sample_rate) if sample_rate else None,
            stereo=stereo,
        )
        return cls(
            output=output,
            engine=engine,
            engine_options={name: value for name, value in given.items() if value is not None},
            voice=voice,
            lexicon=lexicon,
            audio=audio,
            cache_dir=cache_dir,
            jobs=jobs,
            executor=executor,
            ray_address=ray_address,
            device=device,
            base_url=base_url,
            category=podcast_category(tuple(category)),
            explicit=explicit,
        )

    def layout(self, document: Document) -> ReviewLayout:
        """Where each of ``document``'s files goes under ``output/``."""
        return ReviewLayout(self.output, document.name)

    def folder(self, document: Document) -> Path:
        """``output/<name>/``: where everything but the text EPUB goes."""
        return self.layout(document).folder

    def audio_settings(self) -> AudioSettings:
        """The audio settings, defaults filled in."""
        from reviewpub.narration.settings import AudioSettings

        return self.audio if self.audio is not None else AudioSettings()


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


def find_sources(arguments: tuple[Path, ...]) -> list[Path]:
    """Expand folders into the reviews they hold (``.txt``, ``.md``), sorted by name."""
    sources: list[Path] = []
    for argument in arguments:
        if argument.is_dir():
            found = sorted(path for path in argument.iterdir() if path.suffix.lower() in SOURCE_SUFFIXES)
            if not found:
                raise SourceError(f"{argument}: no .txt or .md reviews in this folder")
            sources.extend(found)
        else:
            sources.append(argument)
    return sources


def check_distinct_names(sources: list[Path], documents: list[Document]) -> None:
    """Refuse, before anything is written, two sources that would write the same output folder.

    Raises:
        SourceError: ``review.txt`` and ``review.md`` (or ``Review!.txt``) both make ``output/review``.
    """
    seen: dict[str, Path] = {}
    for source, document in zip(sources, documents):
        other = seen.setdefault(document.name.lower(), source)
        if other != source:
            raise SourceError(f"{other} and {source} would both be written to {document.name}/; rename one of them")


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
    from reviewpub.narration.lexicon import load_lexicon

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
        from reviewpub.engines.piper import check_cuda

        check_cuda()
    return None


def narrate_review(document: Document, options: BuildOptions, voicing: Voicing, progress: Progress) -> Narration:
    """Speak every sentence of the document (cached), one audio file per chapter."""
    from reviewpub.narration import narrate

    return narrate(
        document,
        voicing.engine,
        voice=voicing.voice,
        audio=options.audio_settings(),
        cache_dir=cache_directory(options),
        jobs=options.jobs,
        lexicon=voicing.lexicon,
        progress=progress,
        executor=voicing.executor,
    )


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
        cover = cover_jpeg(document)
        narration = narrate_review(document, options, voicing, progress)
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
        cover = cover_jpeg(document)
        narration = narrate_review(document, options, voicing, progress)
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
        cover = cover_jpeg(document)
        narration = narrate_review(document, options, voicing, progress)
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


def build_sources(
    sources: tuple[Path, ...],
    overrides: Mapping[str, Any],
    options: BuildOptions,
    feed: Mapping[str, Any],
    *,
    make_progress: Callable[[], Progress] = NullProgress,
    published: Callable[[list[Path]], None] = lambda _paths: None,
) -> None:
    """``reviewpub build SOURCES``: every review, then the show's feed (a folder) or the site's index.

    Everything that can be refused is checked before the first byte is written: the show's
    ``reviewpub.toml``, every source, distinct names, then every review's engine, voice and
    lexicon. ``published`` hears each review's files as soon as they are in place.

    Args:
        overrides: metadata given on the command line (None: not given); they win over the text.
        feed: ``base_url``, ``category`` and ``explicit`` as given (the show's file fills the rest).
    """
    from reviewpub.reading import read_document

    is_show = len(sources) == 1 and sources[0].is_dir()
    config = None
    if is_show:
        from reviewpub.show import read_show_config

        # The show's file is checked before any review is read: one line, nothing written.
        config = read_show_config(sources[0])
    paths = find_sources(sources)
    documents = [read_document(path, dict(overrides)) for path in paths]
    check_distinct_names(paths, documents)
    show = None
    if config is not None:
        from reviewpub.show import resolve_show

        given = {**feed, "author": overrides["author"], "language": overrides["language"]}
        show = resolve_show(config.overridden(given), documents)
    # Every review's engine, voice and lexicon are checked before the first is built.
    voicings = [prepare_voicing(document, options) for document in documents]
    for document, voicing in zip(documents, voicings):
        review_options = options if show is None else show_review_options(options, show, document)
        result = build(document, review_options, progress=make_progress(), voicing=voicing)
        published(result.paths)
        logger.info(result.summary())
    if show is not None:
        published(publish_show(show, documents, options))
    else:
        published(publish_site_index(documents, options))


SHOW_LOCK_NAME = ".show"
"""``output/..show.lock``, held while the show's own files (feed, cover, ledger) are written: no
review's name starts with a dot, so a review called ``show`` keeps a lock of its own."""


def show_review_options(options: BuildOptions, show: Show, document: Document) -> BuildOptions:
    """A review's options inside a show: its feed lives at the show's address plus ``NAME/``."""
    import dataclasses

    from reviewpub.show import review_base_url

    return dataclasses.replace(
        options,
        base_url=review_base_url(show.base_url, document.name),
        category=show.category,
        explicit=show.explicit,
        in_show=True,
    )


def publish_show(show: Show, documents: list[Document], options: BuildOptions) -> list[Path]:
    """After every review of the folder is built: the show's cover, ledger, site index and
    feed, then the files of reviews that left the folder are removed.

    The feed is computed from the published files and written last but one, atomically; a
    removed review leaves the feed before its files go, so no app is sent to a missing file.

    Raises:
        WriterError: a review's published files are missing, or the output cannot be written.
    """
    from reviewpub.files import atomic_write
    from reviewpub.show import first_built_dates, read_ledger, show_episodes, write_ledger
    from reviewpub.writers.feed import write_show_feed

    output = options.output
    with named_lock(output, SHOW_LOCK_NAME):
        ledger = read_ledger(output)
        first_built = first_built_dates(documents, ledger)
        episodes = show_episodes(documents, output, first_built)
        cover = OutputLayout(output).cover
        with atomic_write(cover) as handle:
            handle.write(show.artwork)
        paths = [cover, write_ledger(output, first_built)]
        paths += write_site_index(
            output, show.title, show.language, documents, episodes, FEED_NAME, description=show.description
        )
        paths.append(write_show_feed(show, episodes, OutputLayout(output).feed))
        for name in sorted(set(ledger) - set(first_built)):
            remove_review(output, name)
    return paths


def publish_site_index(documents: list[Document], options: BuildOptions) -> list[Path]:
    """``output/index.html`` for reviews built one by one (not a folder): these reviews, each
    subscribing to its own feed; dates only where the front matter gives them."""
    from reviewpub.show import show_episodes
    from reviewpub.writers.feed import publication_date

    output = options.output
    with named_lock(output, SHOW_LOCK_NAME):
        episodes = show_episodes(
            documents, output, {document.name: publication_date(document) for document in documents}
        )
        title = documents[0].metadata.title if len(documents) == 1 else "Reviews"
        return write_site_index(output, title, documents[0].metadata.language, documents, episodes, None, dated=False)


def write_site_index(
    output: Path,
    title: str,
    language: str,
    documents: list[Document],
    episodes: list[Episode],
    feed: str | None,
    *,
    description: str = "",
    dated: bool = True,
) -> list[Path]:
    """The index page listing ``episodes`` in their order, with what their documents say.

    ``feed`` is the show's feed; without one (reviews built one by one) each review links its own.
    """
    from reviewpub.writers.site import IndexEntry, parse_date, write_index

    by_name = {document.name: document for document in documents}
    entries = []
    for episode in episodes:
        metadata = by_name[episode.name].metadata
        published = episode.published.date() if dated else parse_date(metadata.date)
        entries.append(
            IndexEntry(
                name=episode.name,
                title=episode.title,
                language=episode.language,
                duration_s=episode.duration_s,
                published=published,
                rating=metadata.rating,
                item=metadata.item,
                feed=None if feed else ReviewLayout(output, episode.name).in_root(FEED_NAME),
            )
        )
    return write_index(output, title, language, entries, feed, description)


def remove_review(output: Path, name: str) -> None:
    """Remove what reviewpub published for a review that left the show: only the files its
    manifest lists, and only while they are as published; the user's own files stay."""
    from reviewpub.files import file_sha256
    from reviewpub.staging import Staging, is_regular_file

    staging = Staging(output, name)
    with named_lock(output, name):
        staging.refuse_symlinked_folders()
        staging.remove_abandoned()
        kept = []
        for relative, digest in staging.read_manifest().items():
            path = output / relative
            if not is_regular_file(path):
                continue
            try:
                if file_sha256(path) == digest:
                    path.unlink()
                else:
                    kept.append(path)
            except OSError as error:
                logger.warning("%s: not removed (%s)", path, describe_os_error(error))
        for path in kept:
            logger.warning("%s: changed since reviewpub wrote it; kept", path)
        with contextlib.suppress(OSError):
            staging.manifest_path.unlink()
        for folder in ReviewLayout(output, name).made_folders:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: a file the user put there keeps its folder
        logger.info("Removed %s: it is no longer in the source folder", name)
    with contextlib.suppress(OSError):
        (output / f".{name}.lock").unlink()
