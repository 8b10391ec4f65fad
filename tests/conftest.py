"""Shared fixtures: the seed review, an isolated cache, and a CLI runner that reports stderr."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from reviewpub.cli import cli
from reviewpub.errors import ExitStatus

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "source" / "iss-review.txt"

# Set before any fixture runs (module-scoped ones included): builds are reproducible and no
# test touches the user's real cache.
os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="reviewpub-test-cache-")
# The bulk of the suite narrates with eSpeak NG (hundreds of times faster than Piper); the Piper
# tests and the test of the default engine say so explicitly.
os.environ["REVIEWPUB_ENGINE"] = "espeak"

# Property tests: the same examples on every run of make test (CI must not turn red on a new
# random draw); REVIEWPUB_HYPOTHESIS_EXAMPLES=N asks for a longer, randomised search instead.
settings.register_profile("make-test", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("REVIEWPUB_HYPOTHESIS_EXAMPLES") else "make-test")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own XDG cache, a fixed SOURCE_DATE_EPOCH and eSpeak NG: no state leaks."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("REVIEWPUB_ENGINE", "espeak")
    return cache


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    """A private copy of the seed review (tests may edit it)."""
    copy = tmp_path / "source" / "iss-review.txt"
    copy.parent.mkdir()
    shutil.copyfile(SEED, copy)
    return copy


def run_cli(*arguments: str, expect: ExitStatus = ExitStatus.SUCCESS, input: str | None = None) -> Result:
    """Run ``reviewpub`` in-process; fail with its stderr when the exit status is unexpected."""
    runner = CliRunner(mix_stderr=False)
    result = runner.invoke(cli, list(arguments), input=input, catch_exceptions=expect != ExitStatus.SUCCESS)
    if result.exit_code != expect:
        raise AssertionError(
            f"reviewpub {' '.join(arguments)} exited {result.exit_code}, expected {int(expect)}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\nexception: {result.exception!r}"
        )
    return result


@pytest.fixture
def cli_runner() -> Iterator[object]:
    """The ``run_cli`` helper as a fixture, for tests that prefer fixtures."""
    yield run_cli
