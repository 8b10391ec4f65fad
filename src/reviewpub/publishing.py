"""Many reviews at once: ``reviewpub build SOURCES``, a folder as a show, the site's index.

The pipeline builds one review; this module finds the sources, checks everything that can be
refused before a byte is written, builds each review, then publishes the show's feed, cover and
ledger (or, for reviews built one by one, the site's index), and removes the reviews that left
the folder.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.errors import SourceError
from reviewpub.files import describe_os_error
from reviewpub.layout import FEED_NAME, OutputLayout, ReviewLayout
from reviewpub.progress import NullProgress, Progress

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.episodes import Episode
    from reviewpub.show import Show

from reviewpub.options import BuildOptions
from reviewpub.pipeline import build, named_lock, prepare_voicing

logger = logging.getLogger(__name__)

SOURCE_SUFFIXES = (".txt", ".md", ".markdown", ".text")


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
    from reviewpub.episodes import first_built_dates, read_ledger, show_episodes, write_ledger
    from reviewpub.files import atomic_write
    from reviewpub.writers.show_feed import write_show_feed

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
    from reviewpub.episodes import show_episodes
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
    from reviewpub.writers.site import IndexEntry, write_index
    from reviewpub.writers.site_json_ld import parse_date

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
