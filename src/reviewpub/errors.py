"""Errors the user can act on, and the exit statuses the command line returns.

Every ``ReviewpubError`` is one line that names the input and the fix; the CLI turns it into
exit status 1 with no traceback. Anything else is a bug, and keeps its traceback.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Exit statuses of the ``reviewpub`` command, named so tests need no magic numbers."""

    SUCCESS = 0
    ERROR = 1
    USAGE = 2
    INTERRUPTED = 130


class ReviewpubError(Exception):
    """Base of every error the user can do something about; ``str()`` is the line shown."""


class SourceError(ReviewpubError):
    """The source file is missing, empty, binary, undecodable or has no body text."""


class SettingsError(ReviewpubError):
    """An option or a front-matter value is invalid (unknown language, bad cover, ...)."""


class EngineError(ReviewpubError):
    """A text-to-speech engine failed to speak a piece of text."""


class EngineUnavailable(EngineError):
    """An engine cannot be used here at all (unknown name, missing library, no network)."""


class WriterError(ReviewpubError):
    """An output file could not be written (permissions, full disk, ...)."""
