"""Progress reporting for long work, decoupled from any terminal."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Something told how far a long job has got (a progress bar, a log, or nothing)."""

    def start(self, total: int, label: str) -> None:
        """A job of ``total`` steps begins."""

    def advance(self, steps: int = 1, detail: str = "", audio_s: float = 0.0) -> None:
        """``steps`` more steps are done, which made ``audio_s`` more seconds of audio."""

    def finish(self) -> None:
        """The job ended (successfully or not)."""


class NullProgress:
    """Reports nothing: the default for library calls and for ``--quiet``."""

    def start(self, total: int, label: str) -> None:
        """Ignore the start."""

    def advance(self, steps: int = 1, detail: str = "", audio_s: float = 0.0) -> None:
        """Ignore the step."""

    def finish(self) -> None:
        """Ignore the end."""
