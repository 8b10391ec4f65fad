"""Writing files safely: atomic replacement, output paths and reproducible timestamps."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import itertools
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from reviewpub.errors import WriterError

TEMPORARY_NUMBERS = itertools.count()
"""Numbers this process's temporary files, so each name is new without asking the random generator."""
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
"""A new file only (never one already there, nor through a symlink), not inherited by ffmpeg."""


def new_temporary_file(path: Path) -> tuple[int, str]:
    """A new file (mode 0600) beside ``path``, to be renamed onto it: its descriptor and name.

    The name is ``.NAME.PID.N.tmp`` (this process's id and a counter), and the folder is made
    only when the first try finds none: the narration cache writes one per sentence, so this
    costs what the file system does and little more (0.13 ms less a clip than ``mkstemp``
    after a ``mkdir``). A name taken (a killed writer that had this process id) falls back to
    ``tempfile``'s random names.
    """
    directory, name = os.path.split(path)
    temporary = f"{directory}/.{name}.{os.getpid()}.{next(TEMPORARY_NUMBERS)}.tmp"
    try:
        return os.open(temporary, NEW_FILE_FLAGS, 0o600), temporary
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)
        return os.open(temporary, NEW_FILE_FLAGS, 0o600), temporary
    except FileExistsError:
        return tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=directory)


@contextlib.contextmanager
def atomic_write(
    path: Path, mode: str = "wb", *, durable: bool = True, permissions: int = 0o644
) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path`` and rename it into place only on success.

    A reader never sees a half-written file: on any exception (including KeyboardInterrupt)
    the temporary file is removed and ``path`` keeps its previous content. ``durable`` syncs
    the data to disk before the rename (outputs); a cache whose entries carry checksums can
    skip it. ``permissions``: the file's mode once in place.
    """
    path = Path(path)
    directory = path.parent
    try:
        fd, temporary_name = new_temporary_file(path)
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
            prefix=f".{path.stem}.{os.getpid()}.", suffix=f".tmp{path.suffix}", dir=path.parent
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


def process_is_running(pid: int) -> bool:
    """Whether a process with this id exists and is not a zombie (another user's counts as running).

    Workers of a build killed with SIGKILL can stay zombies where nothing reaps them (PID 1 of
    a container); they run no more.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


HASH_CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks (chapter WAVs and audiobooks can be large)."""
    hasher = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            hasher.update(chunk)
    return hasher.hexdigest()


TEMPORARY_NAME = re.compile(r"^\..+\.(\d+)\.[^./]+\.tmp(\.[A-Za-z0-9]+)?$")
"""``atomic_write``/``atomic_path`` temporaries: ``.NAME.PID.N.tmp`` or ``.NAME.PID.RANDOM.tmp[.SUFFIX]``."""


def remove_abandoned_temporaries(folder: Path) -> int:
    """Remove the temporaries that runs killed with SIGKILL left in ``folder``; how many.

    Only files named as ours, owned by a process that no longer runs, are touched.
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = TEMPORARY_NAME.match(entry.name)
        if match and entry.is_file(follow_symlinks=False) and not process_is_running(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


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
