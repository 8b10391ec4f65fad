"""Writing files safely: atomic replacement, output paths and reproducible timestamps."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from reviewpub.errors import WriterError


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "wb", *, durable: bool = True,
                 permissions: int = 0o644) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path`` and rename it into place only on success.

    A reader never sees a half-written file: on any exception (including KeyboardInterrupt)
    the temporary file is removed and ``path`` keeps its previous content. ``durable`` syncs
    the data to disk before the rename (outputs); a cache whose entries carry checksums can
    skip it. ``permissions``: the file's mode once in place.
    """
    path = Path(path)
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise WriterError(f"{directory}: cannot write here ({describe_os_error(error)})") from error
    temporary = Path(temporary_name)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, permissions)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise WriterError(f"{path}: cannot write ({describe_os_error(error)})") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Give a temporary path beside ``path`` for a tool that writes by name (ffmpeg, ebooklib).

    The temporary keeps the target's suffix, so tools that pick a format by extension still
    work; it is renamed into place when the block ends without an exception.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary_name = tempfile.mkstemp(
            prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
        )
        os.close(fd)
    except OSError as error:
        raise WriterError(f"{path.parent}: cannot write here ({describe_os_error(error)})") from error
    temporary = Path(temporary_name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise WriterError(f"{path}: cannot write ({describe_os_error(error)})") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def describe_os_error(error: OSError) -> str:
    """A short human reason for an OSError ("disk full", "permission denied", ...)."""
    if error.errno == errno.ENOSPC:
        return "disk full"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno == errno.EROFS:
        return "read-only file system"
    return error.strerror or str(error)


def reproducible_timestamp(source: Path | None) -> dt.datetime:
    """The build's timestamp: ``SOURCE_DATE_EPOCH`` if set, else the source's mtime (UTC).

    Using either keeps two builds of the same input byte-identical.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        seconds = int(epoch.strip())
    elif source is not None:
        seconds = int(Path(source).stat().st_mtime)
    else:
        seconds = 0
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
