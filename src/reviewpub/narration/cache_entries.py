"""How a cache entry proves it is whole: seals, opening without following links, checked index fields.

Apart from ``cache.py``, which decides what is stored where, because these checks are the same
for every kind of entry and are what makes damage a miss rather than an error or a wrong clip.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
from pathlib import Path
from typing import IO, Any, TypeGuard

from reviewpub.files import HASH_CHUNK_BYTES, describe_os_error

logger = logging.getLogger(__name__)

HEX_DIGEST = re.compile(rb"[0-9a-f]{64}")


class DamagedEntry(ValueError):
    """A cache entry that is not what its place says it is (the reason is logged, then it is a miss)."""


def seal(magic: bytes, body: bytes) -> bytes:
    """``body`` behind a first line of ``magic`` and the SHA-256 of everything after that line.

    The line itself is checked word for word, so no byte of the entry escapes the check.
    """
    return magic + b" " + hashlib.sha256(magic + b"\n" + body).hexdigest().encode("ascii") + b"\n" + body


def unseal(magic: bytes, data: bytes) -> bytes:
    """The body of a sealed entry; raises DamagedEntry unless its first line and checksum match."""
    first_line, newline, body = data.partition(b"\n")
    stated_magic, _, checksum = first_line.partition(b" ")
    if not newline or stated_magic != magic or not HEX_DIGEST.fullmatch(checksum):
        raise DamagedEntry("not a sealed entry of this format")
    if hashlib.sha256(magic + b"\n" + body).hexdigest().encode("ascii") != checksum:
        raise DamagedEntry("checksum mismatch")
    return body


def open_entry(path: Path) -> IO[bytes]:
    """Open the regular file at ``path`` for reading, never through a symlink.

    Raises:
        FileNotFoundError, NotADirectoryError: no entry (a plain miss).
        DamagedEntry: a symlink, folder or anything else but a file is in the entry's place.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as error:
        # ELOOP: a symlink (O_NOFOLLOW); anything else unreadable is as good as damaged.
        raise DamagedEntry(f"cannot be opened as a file ({describe_os_error(error)})") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise DamagedEntry("not a regular file")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_entry(path: Path) -> bytes:
    """The bytes of the entry file at ``path`` (see ``open_entry`` for what it refuses)."""
    with open_entry(path) as stream:
        return stream.read()


def hash_entry_file(path: Path, expected_bytes: int) -> str:
    """The SHA-256 of the entry file at ``path``, which must be ``expected_bytes`` long."""
    hasher = hashlib.sha256()
    with open_entry(path) as stream:
        if os.fstat(stream.fileno()).st_size != expected_bytes:
            raise DamagedEntry("not the indexed size")
        while chunk := stream.read(HASH_CHUNK_BYTES):
            hasher.update(chunk)
    return hasher.hexdigest()


def discard(path: Path) -> None:
    """Remove whatever is in an entry's place (file, symlink, folder) so it can be made again.

    A symlink is removed, never followed; a failure is only logged, since writing the new entry
    will say clearly if the place cannot be used.
    """
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as error:
        logger.debug("cannot remove damaged cache entry %s (%s)", path, describe_os_error(error))


def is_count(value: object) -> TypeGuard[int]:
    """Whether a JSON value is a non-negative integer (``true`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_count(record: dict[str, Any], name: str) -> int:
    """A non-negative integer field of a chapter index."""
    value = record.get(name)
    if not is_count(value):
        raise DamagedEntry(f"{name} is not a count")
    return value


def parse_positions(value: object, lines: int, sample_count: int) -> tuple[tuple[int, int], ...]:
    """Clip positions from an index: ``lines`` ordered, non-overlapping pairs inside the chapter."""
    if not isinstance(value, list) or len(value) != lines:
        raise DamagedEntry(f"not {lines} positions")
    positions = []
    previous_end = 0
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(is_count(item) for item in pair)):
            raise DamagedEntry("a position is not two sample numbers")
        start, end = pair
        if not previous_end <= start <= end <= sample_count:
            raise DamagedEntry("positions out of order or past the chapter's end")
        positions.append((start, end))
        previous_end = end
    return tuple(positions)


def publish_entry(temporary: str, path: Path) -> None:
    """Rename a written entry file into ``path``; a folder standing there is removed first."""
    try:
        os.replace(temporary, path)
    except IsADirectoryError:
        clear_folder_in_place(path)
        os.replace(temporary, path)


def clear_folder_in_place(path: Path) -> None:
    """Remove a folder standing where an entry is about to be renamed (a rename cannot replace it).

    A symlink needs nothing: the rename replaces the link itself, never its target.
    """
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
