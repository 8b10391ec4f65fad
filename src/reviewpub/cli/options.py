"""The command line's options: shared option groups as decorators, and what they become.

Several commands take the same metadata and narration options; declaring each group once keeps
their names, defaults and help text the same everywhere (sqlite-utils' ``output_options``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from reviewpub.options import BuildOptions

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
    from reviewpub.reading.metadata import SETTING_NAMES  # the one list of names a layer may hold

    return {name: options.pop(name, None) for name in SETTING_NAMES}


def build_options(output: Path, options: dict[str, Any]) -> BuildOptions:
    """Turn the narration and feed options of a command into the pipeline's BuildOptions."""
    from reviewpub.options import BuildOptions

    return BuildOptions.from_cli(output=output, **options)
