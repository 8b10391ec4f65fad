"""The ffmpeg binary reviewpub runs, and one way to run it.

The binary bundled by imageio-ffmpeg is used unless the user points ``REVIEWPUB_FFMPEG`` at
another, so a plain ``pip install`` is enough. ffmpeg always gets an argument list, never a
shell, so no user text is ever interpreted.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from reviewpub.errors import WriterError


@functools.lru_cache(maxsize=1)
def ffmpeg_executable() -> str:
    """Path of the ffmpeg to run: ``$REVIEWPUB_FFMPEG`` if set, else imageio-ffmpeg's."""
    chosen = os.environ.get("REVIEWPUB_FFMPEG")
    if chosen:
        if not Path(chosen).is_file():
            raise WriterError(f"REVIEWPUB_FFMPEG={chosen}: no such file; unset it to use the bundled ffmpeg")
        return chosen
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@functools.lru_cache(maxsize=1)
def parent_death_prefix() -> tuple[str, ...]:
    """``setpriv --pdeathsig KILL --`` where util-linux has it (Linux), else nothing.

    ffmpeg then dies with the reviewpub process that started it, even one killed with
    SIGKILL, instead of encoding on, orphaned, into a file nobody will rename. (A
    ``preexec_fn`` calling prctl would do the same but is unsafe with the encoder threads.)
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv is None:
        return ()
    probe = subprocess.run([setpriv, "--pdeathsig", "KILL", "--", "true"], capture_output=True, check=False)
    return (setpriv, "--pdeathsig", "KILL", "--") if probe.returncode == 0 else ()


def run_ffmpeg(arguments: Sequence[str | os.PathLike[str]], *, what: str, stdin: bytes | None = None) -> bytes:
    """Run ffmpeg quietly with ``arguments`` and return its standard output.

    Args:
        arguments: everything after ``ffmpeg`` (``-hide_banner -nostdin`` are added).
        what: the file or job being made, named in the error if ffmpeg fails.
        stdin: bytes to feed on standard input (raw PCM, usually).

    Raises:
        WriterError: ffmpeg failed; the message carries its last line of output.
    """
    command = [*parent_death_prefix(), ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y"]
    if stdin is None:
        command.append("-nostdin")
    command += [os.fspath(argument) for argument in arguments]
    completed = subprocess.run(command, input=stdin, capture_output=True, check=False)
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {completed.returncode}"
        raise WriterError(f"{what}: ffmpeg failed: {reason}")
    return completed.stdout


def run_ffmpeg_analysis(arguments: Sequence[str | os.PathLike[str]], *, what: str) -> str:
    """Run ffmpeg for a filter that reports on stderr (``ebur128``, ``loudnorm``); return stderr."""
    command = [*parent_death_prefix(), ffmpeg_executable(), "-hide_banner", "-nostdin", "-loglevel", "info"]
    command += [os.fspath(argument) for argument in arguments]
    completed = subprocess.run(command, capture_output=True, check=False)
    report = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        lines = report.strip().splitlines()
        raise WriterError(f"{what}: ffmpeg failed: {lines[-1] if lines else completed.returncode}")
    return report
