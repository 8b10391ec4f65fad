"""What the command line shows: errors as one line, log records and progress on stderr, results on stdout.

Kept apart from the commands so each command reads as parse, call, report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reviewpub.errors import ExitStatus, ReviewpubError

if TYPE_CHECKING:
    from reviewpub.progress import Progress


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


def show_written(paths: list[Path]) -> None:
    """Print every file written, one per line, on stdout (the command's result)."""
    for path in paths:
        click.echo(os.fspath(path))
