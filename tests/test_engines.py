"""Engines: the registry, real eSpeak NG, and gTTS through a fake HTTP transport (no network)."""

from __future__ import annotations

import base64
import concurrent.futures
import json
from typing import Any

import pytest
import requests

from reviewpub.engines import choose_engine, engine_names, load_engine, register, unregister
from reviewpub.engines.base import Engine, Speech, Voice
from reviewpub.engines.espeak import EspeakEngine
from reviewpub.engines.google import GoogleEngine
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError
from reviewpub.ffmpeg import run_ffmpeg


def peak(samples: bytes) -> int:
    from reviewpub.narration.audio import audioop

    return int(audioop.max(samples, 2))


# --- registry ---------------------------------------------------------------------------------


class SilentEngine(Engine):
    """A test engine: one second of silence per call."""

    name = "silent"
    default_voice = "x"

    def voices(self, language: str | None = None) -> list[Voice]:
        return [Voice("x", "Silence", ("en",))]

    def synthesize(self, text: str, *, voice: str) -> Speech:
        return Speech(b"\0\0" * 16000, 16000)


@pytest.fixture
def silent_engine() -> Any:
    register("silent", SilentEngine)
    yield SilentEngine
    unregister("silent")


def test_builtin_engines_are_listed_without_importing_them() -> None:
    assert {"espeak", "gtts"} <= set(engine_names())


def test_registered_engine_is_loadable_and_removed_after(silent_engine: Any) -> None:
    assert isinstance(load_engine("silent"), SilentEngine)
    assert "silent" in engine_names()


def test_unknown_engine_lists_the_available_ones() -> None:
    with pytest.raises(EngineUnavailable, match=r"unknown engine 'nope'; available: espeak, gtts"):
        load_engine("nope")


def test_options_of_another_engine_are_refused() -> None:
    with pytest.raises(SettingsError, match="--tld: not an option of the espeak engine"):
        load_engine("espeak", tld="co.uk")


# --- eSpeak NG ---------------------------------------------------------------------------------


def test_espeak_speaks_with_word_marks() -> None:
    speech = load_engine("espeak").synthesize("Space is very quiet tonight.", voice="en-us")
    assert speech.sample_rate == 22050
    assert 1.0 < speech.duration_s < 4.0
    assert peak(speech.samples) > 3000
    offsets = [mark.text_offset for mark in speech.words]
    samples = [mark.sample for mark in speech.words]
    assert offsets == [0, 6, 9, 14, 20] and samples == sorted(samples)


def test_espeak_rate_and_voice_change_the_sound() -> None:
    text = "The crew of the station watches the Earth below."
    normal = EspeakEngine().synthesize(text, voice="en-us")
    fast = EspeakEngine(rate=300).synthesize(text, voice="en-us")
    british = EspeakEngine().synthesize(text, voice="en-gb")
    assert fast.duration_s < normal.duration_s * 0.75
    assert british.samples != normal.samples


def test_espeak_voices_and_unknown_voice() -> None:
    engine = EspeakEngine()
    ids = [voice.id for voice in engine.voices("en")]
    assert {"en-us", "en-gb"} <= set(ids)
    with pytest.raises(SettingsError, match=r"unknown voice 'xx-zz' for espeak; try: .*reviewpub voices"):
        engine.check_voice("xx-zz")


def test_espeak_reads_markup_as_plain_text() -> None:
    speech = EspeakEngine().synthesize("<speak>Hello & <break time='9s'/> bye</speak>", voice="en-us")
    assert speech.duration_s < 6


def synthesize_in_worker(text: str) -> int:
    return len(EspeakEngine().synthesize(text, voice="en-us").samples)


def test_espeak_in_worker_processes() -> None:
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        lengths = list(pool.map(synthesize_in_worker, ["One sentence here.", "Another, longer sentence over there."]))
    assert all(length > 10000 for length in lengths) and lengths[0] < lengths[1]


# --- gTTS through a fake transport ---------------------------------------------------------------


def google_reply(mp3: bytes) -> str:
    """A batchexecute reply as Google sends it: an XSSI guard, then the audio inside JSON."""
    compact = {"separators": (",", ":")}
    payload = json.dumps([base64.b64encode(mp3).decode("ascii")], **compact)
    envelope = json.dumps([["wrb.fr", "jQ1olc", payload, None, None, None, "generic"]], **compact)
    return ")]}'\n\n" + str(len(envelope)) + "\n" + envelope + "\n"


@pytest.fixture(scope="module")
def real_mp3() -> bytes:
    """A real MP3 of real speech, made locally: what Google would return."""
    speech = EspeakEngine().synthesize("Hello from the fake Google.", voice="en-us")
    return run_ffmpeg(["-f", "s16le", "-ar", "22050", "-ac", "1", "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", "32k",
                       "-f", "mp3", "pipe:1"], what="test mp3", stdin=speech.samples)


class FakeGoogle(requests.adapters.BaseAdapter):
    """Plays back a script of replies: status codes, time-outs, refused connections or audio."""

    def __init__(self, script: list[Any]) -> None:
        super().__init__()
        self.script = list(script)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        step = self.script.pop(0) if self.script else 200
        if step == "timeout":
            raise requests.exceptions.ReadTimeout("read timed out")
        if step == "refused":
            raise requests.exceptions.ConnectionError("connection refused")
        response = requests.Response()
        response.request = request
        response.url = request.url
        if isinstance(step, bytes):
            response.status_code, response.reason = 200, "OK"
            response._content = google_reply(step).encode("utf-8")
        else:
            response.status_code = step
            response.reason = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
                               403: "Forbidden"}.get(step, "OK")
            response._content = b"<html>error</html>"
        return response

    def close(self) -> None:
        pass


def google_engine(script: list[Any], **options: Any) -> tuple[GoogleEngine, FakeGoogle, list[float]]:
    session = requests.Session()
    fake = FakeGoogle(script)
    session.mount("https://", fake)
    session.mount("http://", fake)
    sleeps: list[float] = []
    engine = GoogleEngine(session=session, sleep=sleeps.append, jitter=lambda: 0.5, **options)
    return engine, fake, sleeps


def test_gtts_success_decodes_real_mp3(real_mp3: bytes) -> None:
    engine, fake, sleeps = google_engine([real_mp3], tld="co.uk")
    speech = engine.synthesize("Hello from the fake Google.", voice="en")
    assert speech.sample_rate == 24000 and speech.duration_s > 1.0 and peak(speech.samples) > 2000
    assert fake.requests[0].url.startswith("https://translate.google.co.uk/_/TranslateWebserverUi/data/batchexecute")
    assert "Hello%20from%20the%20fake%20Google." in fake.requests[0].body
    assert sleeps == []


def test_gtts_retries_429_5xx_and_timeouts_with_backoff(real_mp3: bytes) -> None:
    engine, fake, sleeps = google_engine([429, 500, "timeout", 503, real_mp3])
    speech = engine.synthesize("Hello.", voice="en")
    assert speech.duration_s > 1.0
    assert len(fake.requests) == 5
    assert sleeps == [1.5, 3.0, 6.0, 12.0]  # exponential, with the jitter factor (1 + 0.5)


def test_gtts_gives_up_with_one_clear_line() -> None:
    engine, fake, sleeps = google_engine([429] * 10, attempts=3)
    with pytest.raises(EngineError) as raised:
        engine.synthesize("Hello.", voice="en")
    assert str(raised.value) == (
        "gTTS: Google answered 429 Too Many Requests 3 times; try again later or use --engine espeak"
    )
    assert len(fake.requests) == 3 and len(sleeps) == 2


def test_gtts_does_not_retry_a_client_error() -> None:
    engine, fake, _ = google_engine([403])
    with pytest.raises(EngineError, match="answered 403 Forbidden; check --voice and --tld"):
        engine.synthesize("Hello.", voice="en")
    assert len(fake.requests) == 1


def test_gtts_unreachable_is_engine_unavailable() -> None:
    engine, _, _ = google_engine(["refused"] * 5, attempts=2)
    with pytest.raises(EngineUnavailable, match="could not reach Google"):
        engine.synthesize("Hello.", voice="en")


def test_gtts_unknown_language() -> None:
    with pytest.raises(SettingsError, match=r"unknown language 'xx' for gtts"):
        GoogleEngine().check_voice("xx")


def test_auto_picks_gtts_when_the_probe_succeeds(real_mp3: bytes) -> None:
    session = requests.Session()
    session.mount("https://", FakeGoogle([real_mp3]))
    assert isinstance(choose_engine("auto", session=session), GoogleEngine)


def test_auto_falls_back_to_espeak_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    session = requests.Session()
    session.mount("https://", FakeGoogle(["refused"]))
    with caplog.at_level("INFO", logger="reviewpub"):
        chosen = choose_engine("auto", session=session)
    assert isinstance(chosen, EspeakEngine)
    assert "using eSpeak NG" in caplog.text


def test_no_real_network_in_the_default_session_is_needed() -> None:
    assert GoogleEngine.needs_network and not EspeakEngine.needs_network
