"""A review's outputs are built beside the published ones, then swapped in together.

Writers write into a staging folder, ``output/.NAME.staging.PID/``, laid out like ``output/``
itself. Before they start, every file of the last build that is still exactly what was
published (its SHA-256 in the manifest) is hard-linked into the staging folder, so writers keep
what is current as before and remake what is missing, changed or damaged. Only when every
writer has finished are the files renamed into place, the feed last; then files of the last
build that this build no longer makes are removed, and the manifest is written.

The manifest, ``output/.NAME.manifest.json``, lists every file reviewpub published for the
review with its SHA-256. It is what makes the rest safe: a file the user put in the folder is
never listed, so it is never removed or overwritten; a file damaged since it was published
fails its checksum and is made again rather than published twice. Symlinked folders in the
output are refused, so nothing is written or removed outside it. A failed or interrupted run
leaves the published files as they were; its staging folder is removed by the next run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from reviewpub.errors import WriterError
from reviewpub.files import (
    atomic_write,
    describe_os_error,
    file_sha256,
    process_is_running,
    remove_abandoned_temporaries,
)
from reviewpub.layout import FEED_NAME, ReviewLayout

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
PUBLISHED_LAST = FEED_NAME
"""Podcast apps poll the feed: it is renamed into place after every file it points to."""


def is_regular_file(path: Path) -> bool:
    """A regular file itself, not a symlink to one."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


class Staging:
    """The staged outputs of one review; use ``stage()`` rather than this class directly."""

    def __init__(self, output: Path, name: str) -> None:
        self.output = Path(output)
        self.name = name
        self.root = self.output / f".{name}.staging.{os.getpid()}"
        """Where writers write: ``root / NAME.epub``, ``root / NAME / ...``."""
        self.manifest_path = self.output / f".{name}.manifest.json"
        self.previous: dict[str, str] = {}
        self.verified: dict[tuple[int, int], str] = {}
        """(device, inode) of each published file linked into the stage → its checked SHA-256."""
        self.made: list[str] = []
        """What the writers made this time, relative to the stage: all that will be published."""

    @property
    def folder(self) -> Path:
        """The staged ``output/NAME/``."""
        return self.root / self.name

    def refuse_symlinked_folders(self) -> None:
        """Stop if a folder reviewpub writes into is a symlink: it would lead writes and removals outside."""
        review = ReviewLayout(self.output, self.name)
        for folder in (self.output, review.folder, review.audio_folder, review.captions_folder):
            if folder.is_symlink():
                raise WriterError(
                    f"{folder}: is a symbolic link; reviewpub writes only inside its output folder, "
                    "replace it with a real folder"
                )

    def read_manifest(self) -> dict[str, str]:
        """The files the last build published, with their SHA-256 (empty when unknown or unreadable)."""
        try:
            data = json.loads(self.manifest_path.read_bytes()) if is_regular_file(self.manifest_path) else {}
        except (OSError, ValueError):
            logger.debug("%s: unreadable; every output will be checked as new", self.manifest_path)
            return {}
        files = data.get("files") if isinstance(data, dict) and data.get("version") == MANIFEST_VERSION else None
        if not isinstance(files, dict):
            return {}
        return {
            name: digest
            for name, digest in files.items()
            if isinstance(name, str) and isinstance(digest, str) and self.is_inside(name)
        }

    def is_inside(self, relative: str) -> bool:
        """A manifest entry names a file below the output folder (never ``..`` or an absolute path)."""
        parts = Path(relative).parts
        return (
            bool(parts)
            and not Path(relative).is_absolute()
            and ".." not in parts
            and parts[0] in (self.name, ReviewLayout(self.output, self.name).epub_name)
        )

    def remove_abandoned(self) -> None:
        """Remove the staging folders and temporaries of runs that were killed."""
        prefix = f".{self.name}.staging."
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.output):
                owner = entry.name[len(prefix) :]
                if entry.name.startswith(prefix) and owner.isdigit() and not process_is_running(int(owner)):
                    shutil.rmtree(entry.path, ignore_errors=True)
        for folder in (self.output, self.output / self.name):
            remove_abandoned_temporaries(folder)

    def prepare(self, owns: Callable[[str], bool]) -> None:
        """Make the staging folder and link into it every current output this command may rewrite."""
        self.refuse_symlinked_folders()
        self.remove_abandoned()
        self.previous = self.read_manifest()
        try:
            shutil.rmtree(self.root, ignore_errors=True)
            self.folder.mkdir(parents=True)
        except OSError as error:
            raise WriterError(f"{self.output}: cannot write here ({describe_os_error(error)})") from error
        for relative, digest in self.previous.items():
            published = self.output / relative
            if not owns(relative) or not is_regular_file(published):
                continue
            try:
                if file_sha256(published) != digest:
                    logger.info("%s changed since it was published; making it again", published)
                    continue
                staged = self.root / relative
                staged.parent.mkdir(parents=True, exist_ok=True)
                os.link(published, staged)
                status = staged.stat()
                self.verified[(status.st_dev, status.st_ino)] = digest
            except OSError as error:
                logger.debug("%s: not reused (%s)", published, describe_os_error(error))

    def publishes(self, paths: list[Path]) -> list[Path]:
        """Record the files the writers made (staged paths); returns where they will be published.

        Only these are published: an earlier output linked into the stage that no writer
        claimed (the captions of a chapter that is gone) is left behind and removed.
        """
        self.made += [str(Path(path).relative_to(self.root)) for path in paths]
        return [self.output / relative for relative in self.made[-len(paths) :]] if paths else []

    def staged_files(self) -> list[str]:
        """The files to publish, relative to the stage, the feed last."""
        files = sorted(dict.fromkeys(self.made))
        missing = [relative for relative in files if not is_regular_file(self.root / relative)]
        if missing:
            raise WriterError(f"{self.root / missing[0]}: was not made; nothing was published")
        return sorted(files, key=lambda relative: Path(relative).name == PUBLISHED_LAST)

    def digest(self, staged: Path) -> str:
        """A staged file's SHA-256 (linked files were checked already)."""
        status = staged.stat()
        return self.verified.get((status.st_dev, status.st_ino)) or file_sha256(staged)

    def publish(self, owns: Callable[[str], bool]) -> None:
        """Rename every staged file into place (the feed last), remove what this build no longer
        makes, record the manifest and remove the stage."""
        self.refuse_symlinked_folders()
        files = self.staged_files()
        published = {relative: self.digest(self.root / relative) for relative in files}
        # Every place is checked before the first rename, so a folder or file in the way stops
        # the run with the published set untouched rather than half replaced.
        for relative in files:
            target = self.output / relative
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise WriterError(
                    f"{target.parent}: cannot be made a folder ({describe_os_error(error)}); "
                    "nothing was published, move what is in the way"
                ) from None
            if target.is_dir() and not target.is_symlink():
                raise WriterError(f"{target}: a folder stands where this file goes; nothing was published, move it")
        try:
            for relative in files:
                os.replace(self.root / relative, self.output / relative)
        except OSError as error:
            raise WriterError(f"{self.output}: cannot publish ({describe_os_error(error)})") from error
        for relative in self.previous:
            if owns(relative) and relative not in published and is_regular_file(self.output / relative):
                with contextlib.suppress(OSError):
                    (self.output / relative).unlink()
        kept = {
            relative: digest
            for relative, digest in self.previous.items()
            if not owns(relative) and is_regular_file(self.output / relative)
        }
        manifest = {"version": MANIFEST_VERSION, "files": dict(sorted({**kept, **published}.items()))}
        with atomic_write(self.manifest_path) as handle:
            handle.write(json.dumps(manifest, indent=1).encode("utf-8"))
        self.discard()

    def discard(self) -> None:
        """Remove the staging folder and whatever is left in it."""
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def stage(output: Path, name: str, owns: Callable[[str], bool]) -> Iterator[Staging]:
    """Stage a review's outputs; publish them together when the block succeeds, else discard them.

    Args:
        output: the output folder.
        name: the review's name (``iss-review``).
        owns: which outputs (relative to ``output``) this command makes; only these are
            reused, replaced or removed.

    Raises:
        WriterError: a symlinked output folder, or the folder cannot be written.
    """
    staging = Staging(output, name)
    staging.prepare(owns)
    try:
        yield staging
        staging.publish(owns)
    except BaseException:
        staging.discard()
        raise
