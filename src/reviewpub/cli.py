"""The ``reviewpub`` command line: parse options, call one library function, report.

Heavy libraries (ebooklib, pydub, gtts, Pillow, markdown-it) are imported inside the
commands, so ``reviewpub --help`` starts as fast as Click itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reviewpub import __version__
from reviewpub.errors import ExitStatus, ReviewpubError

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.options import BuildOptions
    from reviewpub.progress import Progress

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("reviewpub")


def set_log_level(level: int) -> Callable[[click.Context, click.Parameter, bool], None]:
    """A callback for ``-v``/``-q`` that sets the ``reviewpub`` logger's level."""

    def callback(context: click.Context, parameter: click.Parameter, value: bool) -> None:
        if value:
            logger.setLevel(level)
            context.ensure_object(dict)["quiet"] = level > logging.INFO
            context.find_root().ensure_object(dict)["level"] = level

    return callback


def verbosity_options(function: F) -> F:
    """``-v/--verbose`` and ``-q/--quiet``, accepted by the group and by every command."""
    function = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=set_log_level(logging.DEBUG),
        help="Say more about what is happening.",
    )(function)
    function = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=set_log_level(logging.WARNING),
        help="Print only warnings, errors and results.",
    )(function)
    return function


def metadata_options(function: F) -> F:
    """Options that override the document's metadata (they win over front matter)."""
    options = [
        click.option("--title", help="Book title (default: the first line or front matter)."),
        click.option("--subtitle", help="Subtitle."),
        click.option("--author", help="Author, shown in the EPUB, the tags and the feed."),
        click.option("--lang", "language", help="Language as a BCP 47 tag, e.g. en, en-GB, fr."),
        click.option("--date", help="Publication date, e.g. 2024-01-19."),
        click.option("--description", help="A one-paragraph description."),
        click.option("--publisher", help="Publisher."),
        click.option("--rights", help="Rights statement, e.g. 'CC BY 4.0'."),
        click.option(
            "--cover",
            type=click.Path(path_type=Path),
            help="Cover image (JPEG or PNG); without it one is drawn from the title.",
        ),
        click.option("--item", help="What the review is about, e.g. 'The International Space Station'."),
        click.option("--item-type", help="Its schema.org type: Movie, Book, Product, Restaurant, Place, ..."),
        click.option("--rating", help="The reviewer's score, e.g. 4 or 4/5 (never invented when absent)."),
        click.option("--best-rating", help="The top of the rating's scale [default: 5]."),
        click.option("--worst-rating", help="The bottom of the rating's scale [default: 0]."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def output_option(function: F) -> F:
    """``-o/--output``: the folder every file goes into."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("output"),
        show_default=True,
        help="Folder to write into.",
    )(function)


voices_dir_option = click.option(
    "--voices-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Piper: a folder of voices (.onnx + .onnx.json) [default: $XDG_DATA_HOME/reviewpub/voices].",
)


def narration_options(function: F) -> F:
    """Options that choose the voice and shape the audio."""
    options = [
        click.option(
            "--engine",
            envvar="REVIEWPUB_ENGINE",
            default="piper",
            show_default=True,
            help="Text-to-speech engine: piper (neural, offline), espeak (fast, offline, 100+ languages), "
            "gtts (sends the text to Google), or auto (gtts if reachable, else espeak). Also $REVIEWPUB_ENGINE.",
        ),
        click.option(
            "--voice",
            help="Voice of the engine, e.g. en_US-joe-medium (piper), en-gb (espeak), en (gtts); "
            "see `reviewpub voices`.",
        ),
        click.option(
            "--voice-model",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Piper: a voice model FILE.onnx you downloaded (its FILE.onnx.json beside it).",
        ),
        click.option("--speaker", help="Piper: name or number of a speaker of a multi-speaker voice."),
        voices_dir_option,
        click.option(
            "--rate",
            type=click.IntRange(80, 450),
            help="Speed in words per minute: eSpeak NG 80-450 (default 175); "
            "Piper 80-350 (175 is the voice's own speed).",
        ),
        click.option("--pitch", type=click.IntRange(0, 99), help="eSpeak NG: pitch, 0-99."),
        click.option("--tld", help="gTTS: Google domain for the accent, e.g. com, co.uk, com.au."),
        click.option("--slow", is_flag=True, default=None, help="gTTS: read slowly."),
        click.option(
            "--lexicon",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help='Pronunciation lexicon: a TOML/YAML mapping ("Asbæk" = "Ahsbeck") or a W3C PLS file.',
        ),
        click.option(
            "--bitrate", type=click.IntRange(32, 320), help="MP3 bitrate in kbps [default: 96; 192 for audiobook]."
        ),
        click.option(
            "--sample-rate",
            type=click.Choice(["22050", "24000", "32000", "44100", "48000"]),
            help="Sample rate in Hz [default: 44100].",
        ),
        click.option("--stereo", is_flag=True, default=False, help="Write stereo instead of mono."),
        click.option(
            "--loudness",
            type=click.Choice(["podcast", "audiobook", "off"]),
            default="podcast",
            show_default=True,
            help="podcast: -16 LUFS stereo / -19 LUFS mono; audiobook: ACX (RMS -23..-18 dB, 192 kbps); off.",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Where synthesised clips are kept [default: $XDG_CACHE_HOME/reviewpub].",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(1, 256),
            help="Chapters synthesised and encoded in parallel, at most one per CPU [default: number of CPUs].",
        ),
        click.option(
            "--executor",
            type=click.Choice(["local", "ray"]),
            default="local",
            show_default=True,
            help="Where sentences are synthesised: local worker processes, or a running Ray cluster "
            "(needs pip install 'reviewpub[ray]'; files are the same bytes either way).",
        ),
        click.option(
            "--ray-address",
            envvar="RAY_ADDRESS",
            help="With --executor ray: the cluster's HOST:PORT, or auto for the one `ray start --head` started "
            "here [default: $RAY_ADDRESS].",
        ),
        click.option(
            "--device",
            type=click.Choice(["cpu", "cuda"]),
            default="cpu",
            show_default=True,
            help="Piper: cuda runs the voice on an NVIDIA GPU (needs onnxruntime-gpu; with --executor ray, "
            "on the cluster's GPUs).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def metadata_overrides(options: dict[str, Any]) -> dict[str, Any]:
    """The metadata options the user gave, keyed by Metadata field name (None: not given)."""
    names = (
        "title",
        "subtitle",
        "author",
        "language",
        "date",
        "description",
        "publisher",
        "rights",
        "cover",
        "item",
        "item_type",
        "rating",
        "best_rating",
        "worst_rating",
    )
    return {name: options.pop(name, None) for name in names}


def build_options(output: Path, options: dict[str, Any]) -> BuildOptions:
    """Turn the narration and feed options of a command into the pipeline's BuildOptions."""
    from reviewpub.options import BuildOptions

    return BuildOptions.from_cli(output=output, **options)


@contextlib.contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn the library's errors into one line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except ReviewpubError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        click.echo("Interrupted; finished files were kept, nothing half-written was left.", err=True)
        sys.exit(ExitStatus.INTERRUPTED)


class EchoHandler(logging.Handler):
    """Log records as plain lines on the current stderr (which tests and pagers may swap)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write one message."""
        click.echo(self.format(record), err=True)


class ClickProgress:
    """Progress shown as a Click progress bar on stderr (only when it is a terminal): steps done
    (sentences while narrating), an ETA and, while narrating, the minutes of audio made so far."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.audio_s = 0.0

    def start(self, total: int, label: str) -> None:
        """Open a bar of ``total`` steps."""
        self.finish()
        self.audio_s = 0.0
        self.bar = click.progressbar(
            length=total, label=label, file=sys.stderr, show_eta=True, show_pos=True, item_show_func=audio_minutes
        )
        self.bar.__enter__()

    def advance(self, steps: int = 1, detail: str = "", audio_s: float = 0.0) -> None:
        """Move the bar on."""
        if self.bar is not None:
            self.audio_s += audio_s
            self.bar.update(steps, self.audio_s if self.audio_s else None)

    def finish(self) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def audio_minutes(audio_s: float | None) -> str | None:
    """``3.2 min of audio``: what the progress bar shows beside the sentence count."""
    return None if audio_s is None else f"{audio_s / 60:.1f} min of audio"


def make_progress() -> Progress:
    """A progress bar when stderr is a terminal and -q is off, otherwise nothing."""
    from reviewpub.progress import NullProgress

    context = click.get_current_context()
    quiet = bool((context.find_root().obj or {}).get("quiet")) or bool((context.obj or {}).get("quiet"))
    if quiet or not sys.stderr.isatty():
        return NullProgress()
    return ClickProgress()


def load_document(source: Path, overrides: dict[str, Any]) -> Document:
    """Read one source file into a Document (the reader lives in reviewpub.reading)."""
    from reviewpub.reading import read_document

    return read_document(source, overrides)


def show_written(paths: list[Path]) -> None:
    """Print every file written, one per line, on stdout (the command's result)."""
    for path in paths:
        click.echo(os.fspath(path))


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


def main() -> None:
    """Entry point of the ``reviewpub`` script and of ``python -m reviewpub``."""
    cli(prog_name="reviewpub")
