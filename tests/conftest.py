"""Shared fixtures: the seed review, an isolated cache, and a CLI runner that reports stderr.

Builders and helpers that test modules import live in ``tests/helpers/``; test modules never
import each other or this file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers.cli import run_cli
from tests.helpers.paths import SEED

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


@pytest.fixture
def cli_runner() -> Iterator[object]:
    """The ``run_cli`` helper as a fixture, for tests that prefer fixtures."""
    yield run_cli
