"""The ``reviewpub`` command line: parse options, call one library function, report.

Heavy libraries (ebooklib, pydub, gtts, Pillow, markdown-it) are imported inside the
commands, so ``reviewpub --help`` starts as fast as Click itself. The shared option groups
live in ``cli.options``, and what is shown on stdout and stderr in ``cli.console``.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reviewpub import __version__
from reviewpub.cli.console import EchoHandler, make_progress, reporting_errors, show_written
from reviewpub.cli.options import (
    build_options,
    metadata_options,
    metadata_overrides,
    narration_options,
    output_option,
    verbosity_options,
    voices_dir_option,
)

if TYPE_CHECKING:
    from reviewpub.document import Document

logger = logging.getLogger("reviewpub")


def load_document(source: Path, overrides: dict[str, Any]) -> Document:
    """Read one source file into a Document (the reader lives in reviewpub.reading)."""
    from reviewpub.reading import read_document

    return read_document(source, overrides)


@click.group(name="reviewpub", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="reviewpub")
@verbosity_options
@click.pass_context
def cli(context: click.Context) -> None:
    """Publish a written review as an accessible EPUB 3 and narrated audio.

    \b
    reviewpub outline source/iss-review.txt     how the review was split into chapters
    reviewpub epub source/iss-review.txt        output/iss-review.epub
    reviewpub audio source/iss-review.txt       one MP3 per chapter + playlist
    reviewpub build source/iss-review.txt       everything, from one narration pass
    """
    context.ensure_object(dict)
    if not any(isinstance(handler, EchoHandler) for handler in logger.handlers):
        logger.addHandler(EchoHandler())
        logger.propagate = False
    # Each run starts at INFO unless -q/-v was given before the command name.
    logger.setLevel(context.obj.get("level", logging.INFO))


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: an indented tree with word counts; json: the same as data.",
)
@click.option("--explain", is_flag=True, help="Say which rule made each heading, and why near-misses were body text.")
@metadata_options
@verbosity_options
def outline(source: Path, output_format: str, explain: bool, **options: Any) -> None:
    """Show how SOURCE (plain text or Markdown) was split into chapters.

    \b
    Example:
      reviewpub outline source/iss-review.txt --format json
    """
    with reporting_errors():
        document = load_document(source, metadata_overrides(options))
    if output_format == "json":
        data = document.outline()
        if explain:
            data["decisions"] = [
                {"line": d.line, "text": d.text, "verdict": d.verdict, "rule": d.rule} for d in document.decisions
            ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo(document.outline_text())
    if explain:
        click.echo("")
        click.echo("Why:")
        for decision in document.decisions:
            click.echo(f"  line {decision.line}: {decision.verdict:<10} {decision.text!r}: {decision.rule}")


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@output_option
@click.option(
    "--read-aloud",
    is_flag=True,
    help="Build only the read-aloud EPUB (narration embedded, text highlighted in sync) "
    "into OUTPUT/NAME/NAME.read-aloud.epub.",
)
@metadata_options
@narration_options
@verbosity_options
def epub(source: Path, output: Path, read_aloud: bool, **options: Any) -> None:
    """Build an accessible EPUB 3 of SOURCE into OUTPUT/NAME.epub.

    The EPUB has a nested table of contents (nav and NCX), one XHTML file per chapter,
    a cover and accessibility metadata. The narration options apply with --read-aloud.

    \b
    Example:
      reviewpub epub source/iss-review.txt        # writes output/iss-review.epub
    """
    from reviewpub import pipeline

    with reporting_errors():
        document = load_document(source, metadata_overrides(options))
        settings = build_options(output, options)
        if read_aloud:
            written = pipeline.publish_read_aloud(document, settings, progress=make_progress())
        else:
            written = [pipeline.publish_epub(document, settings)]
    show_written(written)


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@output_option
@metadata_options
@narration_options
@verbosity_options
def audio(source: Path, output: Path, **options: Any) -> None:
    """Narrate every chapter of SOURCE to its own tagged MP3, plus a playlist.

    Writes OUTPUT/NAME/audio/NN-CHAPTER.mp3 and OUTPUT/NAME/NAME.m3u8. The default engine,
    Piper, is a neural voice that works offline; --engine espeak is much faster and speaks
    over a hundred languages; --engine gtts sends the text to Google. Clips are cached, so a
    second run synthesises and encodes nothing that has not changed.

    \b
    Example:
      reviewpub audio source/iss-review.txt
      reviewpub audio source/iss-review.txt --engine espeak --voice en-gb --rate 160
    """
    from reviewpub import pipeline

    with reporting_errors():
        document = load_document(source, metadata_overrides(options))
        settings = build_options(output, options)
        result = pipeline.publish_audio(document, settings, progress=make_progress())
    show_written(result.paths)
    logger.info(result.summary())


@cli.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option
@click.option(
    "--base-url",
    help="Public address the NAME folder will be served from, e.g. https://example.org/reviews/iss-review/; "
    "for a folder of reviews, the address of the output folder (feed URLs are built from it; without it use "
    "`reviewpub serve`).",
)
@click.option(
    "--category",
    multiple=True,
    help="Apple Podcasts category, then optionally one of its subcategories [default: 'TV & Film' 'Film Reviews'].",
)
@click.option("--explicit/--no-explicit", default=None, help="Mark the podcast as explicit (or not).")
@metadata_options
@narration_options
@verbosity_options
def build(sources: tuple[Path, ...], output: Path, **options: Any) -> None:
    """Build everything for each SOURCE (a file, or a folder of .txt/.md reviews).

    From one narration pass: the EPUB, a read-aloud EPUB (EPUB 3 Media Overlays), chapter
    MP3s and playlist, an M4B and a single MP3 audiobook with chapter marks, WebVTT and SRT
    captions, Podcasting 2.0 chapters, a square cover, a podcast feed and a listening page
    (output/NAME/index.html); output/index.html lists the reviews (open it, or `reviewpub serve`).

    A folder is one show: output/feed.xml has one episode per review, newest first, with
    settings from the folder's reviewpub.toml (the options here win over it). Reviews that
    are unchanged are kept as they are; a review gone from the folder is removed.

    \b
    Example:
      reviewpub build source/iss-review.txt --base-url https://example.org/reviews/iss-review/
      reviewpub build source/ --base-url https://example.org/reviews/
      reviewpub build source/ --executor ray --ray-address auto   # after `ray start --head`
    """
    from reviewpub import publishing

    with reporting_errors():
        overrides = metadata_overrides(options)
        feed = {name: options.pop(name) for name in ("base_url", "category", "explicit")}
        settings = build_options(output, {**options, **feed, "explicit": bool(feed["explicit"])})
        publishing.build_sources(
            sources, overrides, settings, feed, make_progress=make_progress, published=show_written
        )


@cli.command()
@click.option("--engine", envvar="REVIEWPUB_ENGINE", default=None, help="Only this engine's voices.")
@click.option("--lang", "language", help="Only voices for this language, e.g. en.")
@voices_dir_option
@verbosity_options
def voices(engine: str | None, language: str | None, voices_dir: Path | None) -> None:
    """List the voices of every engine (or of one), as --voice accepts them.

    One voice per line: engine, voice, languages, name; Piper voices add their quality,
    sample rate and speakers.

    \b
    Example:
      reviewpub voices --engine piper
      reviewpub voices --engine espeak --lang en
    """
    from reviewpub import engines

    with reporting_errors():
        names = [engine] if engine else engines.engine_names()
        for name in names:
            options = {"voices_dir": voices_dir} if voices_dir is not None and name == "piper" else {}
            chosen = engines.load_engine(name, **options)
            for voice in chosen.voices(language):
                columns = [name, voice.id, ",".join(voice.languages), voice.name]
                if voice.sample_rate is not None:
                    speakers = f"{len(voice.speakers)} speakers" if voice.speakers else "1 speaker"
                    columns += [voice.quality or "-", f"{voice.sample_rate} Hz", speakers]
                click.echo("\t".join(columns))


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. 127.0.0.1 is this computer only; 0.0.0.0 shares the folder with "
    "EVERY device on your network (so a phone's podcast app can subscribe).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@verbosity_options
def serve(folder: Path, host: str, port: int) -> None:
    """Serve a built folder over HTTP for browsers and podcast apps: output/ or output/iss-review.

    / is the listening site (output/index.html; /NAME/ a review's page) and /feed.xml the
    podcast feed. Every feed's URLs are rewritten for the address it is served on. Only
    files inside FOLDER are served.

    \b
    Example:
      reviewpub serve output/ --port 8000
      # then open http://127.0.0.1:8000/ and subscribe to http://127.0.0.1:8000/feed.xml
    """
    from reviewpub.serve import serve as serve_folder

    with reporting_errors():
        serve_folder(folder, host=host, port=port)


BLAS_THREADS = "1"
"""OpenBLAS threads for numpy in this process and its workers (``OPENBLAS_NUM_THREADS``, unless set).

numpy's OpenBLAS starts a thread per core that spins between calls; reviewpub's only matrix
products are the loudness filter's, each worker's own, and one thread does them with less CPU:
the spinning took about 0.1 CPU s from synthesis and encoding on every narrated review
(``make bench``), and with a thread per core the loudness filter's products cost 128 ms of CPU
per 5 minutes of audio instead of 53 (measured when they became one product per step)."""


def main() -> None:
    """Entry point of the ``reviewpub`` script and of ``python -m reviewpub``.

    On the way out, every object left is frozen (``gc.freeze``): the interpreter's last
    garbage collections then skip them instead of walking the whole heap once more, about
    20 ms of every run (0.027 → 0.007 s from the last exit handler to the process's end, on
    the seed review). Files are closed by the code that opens them, so there is nothing
    left for those collections to do.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", BLAS_THREADS)
    try:
        cli(prog_name="reviewpub")
    finally:
        gc.freeze()
