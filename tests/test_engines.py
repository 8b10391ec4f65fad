"""The engine registry: names from entry points without imports, plugins, options, ``--engine auto``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from reviewpub.engines import (
    BUILT_IN_ENGINES,
    ENTRY_POINT_GROUP,
    choose_engine,
    engine_classes,
    engine_names,
    load_engine,
    register,
    unregister,
)
from reviewpub.engines.base import Engine, Speech, Voice
from reviewpub.engines.espeak import EspeakEngine
from reviewpub.engines.google import GoogleEngine
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError
from reviewpub.narration.lexicon_files import parse_toml
from tests.fixtures.fake_google import SocketGuard, fake_google, guard_sockets, real_mp3


class SilentEngine(Engine):
    """A test engine: a tenth of a second of silence per call."""

    name = "silent"
    default_voice = "x"

    def __init__(self, loudness: int = 0) -> None:
        self.loudness = loudness

    def voices(self, language: str | None = None) -> list[Voice]:
        return [Voice("x", "Silence", ("en",))]

    def synthesize(self, text: str, *, voice: str) -> Speech:
        return Speech(b"\0\0" * 1600, 16000)


class AnythingGoesEngine(SilentEngine):
    """A test engine whose constructor takes any keyword."""

    name = "anything"

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.options = options


@pytest.fixture
def silent_engine() -> Iterator[type[Engine]]:
    """``silent`` registered for one test, then removed."""
    register("silent", SilentEngine)
    yield SilentEngine
    unregister("silent")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketGuard]:
    """Refuse real connections, and check afterwards that none was tried."""
    guard = guard_sockets(monkeypatch)
    yield guard
    assert guard.attempts == []


@pytest.fixture
def third_party_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution declaring three engines: one good, one broken, one not an Engine."""
    package = tmp_path / "site"
    (package / "acme_engines").mkdir(parents=True)
    (package / "acme_engines" / "__init__.py").write_text("")
    (package / "acme_engines" / "good.py").write_text(
        textwrap.dedent("""
        from reviewpub.engines.base import Engine, Speech, Voice

        class GoodEngine(Engine):
            name = "acme-good"
            default_voice = "a"

            def voices(self, language=None):
                return [Voice("a", "A", ("en",))]

            def synthesize(self, text, *, voice):
                return Speech(b"\\x01\\x00" * 100, 8000)
    """)
    )
    (package / "acme_engines" / "broken.py").write_text("import a_module_that_does_not_exist\n")
    info = package / "acme_engines-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-engines\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[reviewpub.engines]\n"
        "acme-good = acme_engines.good:GoodEngine\n"
        "acme-broken = acme_engines.broken:BrokenEngine\n"
        "acme-wrong = json:dumps\n"
    )
    monkeypatch.syspath_prepend(str(package))
    for module in [name for name in sys.modules if name.startswith("acme_engines")]:
        monkeypatch.delitem(sys.modules, module)
    return package


# --- names and loading -------------------------------------------------------------------------


def test_engine_names_come_from_metadata_without_importing_any_engine() -> None:
    program = (
        "import json, sys\n"
        "from reviewpub.engines import engine_names\n"
        "names = engine_names()\n"
        "loaded = sorted(m for m in sys.modules"
        " if m.startswith(('reviewpub.engines.', 'gtts', 'requests', 'espeakng')))\n"
        "print(json.dumps([names, loaded]))\n"
    )
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    names, loaded = json.loads(completed.stdout)
    assert {"espeak", "gtts"} <= set(names)
    assert loaded == ["reviewpub.engines.base"]


def test_built_in_engines_are_the_entry_points_pyproject_declares() -> None:
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    declared: Any = parse_toml(pyproject.read_text(encoding="utf-8"), pyproject)
    assert declared["project"]["entry-points"][ENTRY_POINT_GROUP] == BUILT_IN_ENGINES
    installed = {entry.name: entry.value for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert installed.items() >= BUILT_IN_ENGINES.items()


def test_a_built_in_engine_loads_without_reading_package_metadata() -> None:
    program = (
        "import sys\n"
        "from reviewpub.engines import load_engine\n"
        "engine = load_engine('espeak')\n"
        "print(type(engine).__name__, 'importlib.metadata' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["EspeakEngine", "False"]


def test_a_registered_engine_is_listed_loaded_and_removed_after(silent_engine: type[Engine]) -> None:
    assert "silent" in engine_names()
    engine = load_engine("silent", loudness=3)
    assert isinstance(engine, SilentEngine) and engine.loudness == 3
    unregister("silent")
    assert "silent" not in engine_names()
    with pytest.raises(EngineUnavailable, match="unknown engine 'silent'"):
        load_engine("silent")


def test_register_refuses_what_is_not_an_engine() -> None:
    with pytest.raises(TypeError, match="not a reviewpub Engine"):
        register("bad", dict)  # type: ignore[arg-type]
    assert "bad" not in engine_names()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "unknown engine 'nope'; available: espeak, gtts, piper, auto (reviewpub voices)"),
        ("auto", "engine 'auto' is chosen when a build starts; name one of: espeak, gtts, piper"),
    ],
)
def test_unknown_engine_is_one_line_listing_the_available_ones(name: str, message: str) -> None:
    with pytest.raises(EngineUnavailable) as raised:
        load_engine(name)
    assert str(raised.value) == message


def test_builtin_engines_load_by_name() -> None:
    assert isinstance(load_engine("espeak", rate=200), EspeakEngine)
    assert isinstance(load_engine("gtts", tld="co.uk"), GoogleEngine)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("espeak", {"tld": "co.uk"}, "--tld: not an option of the espeak engine (its options: --pitch, --rate)"),
        ("espeak", {"slow": True, "tld": "com"}, "--slow, --tld: not an option of the espeak engine"),
        ("gtts", {"rate": 200}, "--rate: not an option of the gtts engine (its options: --attempts, --backoff-s"),
    ],
)
def test_options_of_another_engine_are_settings_errors(name: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_engine(name, **options)
    assert str(raised.value).startswith(message)


def test_an_engine_taking_any_keyword_gets_them_all() -> None:
    register("anything", AnythingGoesEngine)
    try:
        engine = load_engine("anything", colour="blue")
        assert isinstance(engine, AnythingGoesEngine) and engine.options == {"colour": "blue"}
    finally:
        unregister("anything")


# --- third-party plugins -------------------------------------------------------------------------


def test_a_third_party_engine_loads_through_its_entry_point(third_party_plugins: Path) -> None:
    assert {"acme-good", "acme-broken", "acme-wrong"} <= set(engine_names())
    speech = load_engine("acme-good").synthesize("hi", voice="a")
    assert speech.sample_rate == 8000 and speech.sample_count == 100


def test_a_broken_plugin_is_a_warning_in_listings(third_party_plugins: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="reviewpub.engines"):
        classes = engine_classes()
    assert {"espeak", "gtts", "acme-good"} <= set(classes)
    assert "acme-broken" not in classes and "acme-wrong" not in classes
    warnings = [record.getMessage() for record in caplog.records]
    assert any("acme-broken" in line and "ModuleNotFoundError" in line for line in warnings)
    assert any("acme-wrong" in line and "is not a reviewpub Engine" in line for line in warnings)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "acme-broken",
            r"engine 'acme-broken' \(acme_engines.broken:BrokenEngine\) failed to load: ModuleNotFoundError",
        ),
        ("acme-wrong", r"engine 'acme-wrong' \(json:dumps\) is not a reviewpub Engine; pick another"),
    ],
)
def test_a_broken_plugin_is_an_error_only_when_chosen(third_party_plugins: Path, name: str, message: str) -> None:
    with pytest.raises(EngineUnavailable, match=message):
        load_engine(name)


# --- --engine auto -------------------------------------------------------------------------------


def test_auto_uses_gtts_when_the_probe_succeeds(no_network: SocketGuard, caplog: pytest.LogCaptureFixture) -> None:
    with fake_google([real_mp3()], tld="co.uk") as google, caplog.at_level(logging.INFO, logger="reviewpub.engines"):
        chosen = choose_engine("auto", tld="co.uk", slow=True, sleep=lambda seconds: None)
    assert isinstance(chosen, GoogleEngine) and (chosen.tld, chosen.slow, chosen.attempts) == ("co.uk", True, 5)
    assert len(google.requests) == 1 and google.rpcs[0][:2] == ["Hello.", "en"]
    assert "engine auto: Google answered; using gTTS (the text is sent to Google)" in caplog.messages


@pytest.mark.parametrize("failure", ["refused", "timeout", 429, 503, 403])
def test_auto_falls_back_to_espeak_after_one_failed_probe(
    no_network: SocketGuard, caplog: pytest.LogCaptureFixture, failure: Any
) -> None:
    slept: list[float] = []
    with fake_google([failure, real_mp3()]) as google, caplog.at_level(logging.INFO, logger="reviewpub.engines"):
        chosen = choose_engine("auto", rate=210, sleep=slept.append)
    assert isinstance(chosen, EspeakEngine) and chosen.rate == 210
    assert len(google.requests) == 1 and slept == []  # one probe, no retry, no waiting
    assert any(
        line.startswith("engine auto: gTTS is not usable (gTTS: ") and line.endswith("using eSpeak NG, offline")
        for line in caplog.messages
    )
    assert "engine auto: --sleep not options of espeak; ignored" in caplog.messages


def test_auto_without_any_network_falls_back_to_espeak(no_network: SocketGuard) -> None:
    """No fake at all: the real requests stack meets the socket guard and gives up at once."""
    assert isinstance(choose_engine("auto"), EspeakEngine)
    assert len(no_network.attempts) >= 1
    no_network.attempts.clear()


def test_auto_keeps_its_choice(no_network: SocketGuard) -> None:
    """The probe decides once; later failures are errors of gTTS, not a silent switch of voice."""
    with fake_google([real_mp3(), 429, 429]) as google:
        chosen = choose_engine("auto", attempts=2, sleep=lambda seconds: None)
        with pytest.raises(EngineError, match="Google answered 429 Too Many Requests 2 times"):
            chosen.synthesize("Second sentence.", voice="en")
    assert isinstance(chosen, GoogleEngine) and len(google.requests) == 3


def test_a_named_engine_is_not_probed(no_network: SocketGuard) -> None:
    with fake_google([]) as google:
        assert isinstance(choose_engine("espeak", pitch=40), EspeakEngine)
        assert isinstance(choose_engine("gtts"), GoogleEngine)
    assert google.requests == []
    with pytest.raises(SettingsError, match="--slow: not an option of the espeak engine"):
        choose_engine("espeak", slow=True)
