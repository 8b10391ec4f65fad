"""gTTS through a fake Google: real MP3 replies, throttling, server errors, time-outs; no network."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from reviewpub.engines.google import GoogleEngine, decode_reply
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError
from tests.fixtures.fake_google import SocketGuard, fake_google, google_reply, guard_sockets, real_mp3, sent_rpc


def peak(samples: bytes) -> int:
    """Largest absolute sample value of 16-bit PCM."""
    import array

    values = array.array("h", samples)
    return max((abs(value) for value in values), default=0)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketGuard]:
    """Every test here: a real connection attempt fails the call, and the test afterwards."""
    guard = guard_sockets(monkeypatch)
    yield guard
    assert guard.attempts == [], "a test tried to reach the network"


class Recorder:
    """The injected sleep and random source: record waits, give a fixed jitter."""

    def __init__(self, jitter: float = 0.5) -> None:
        self.slept: list[float] = []
        self.jitter_value = jitter

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def jitter(self) -> float:
        return self.jitter_value


def engine(recorder: Recorder, **options: Any) -> GoogleEngine:
    """A gTTS engine that waits and draws jitter through ``recorder``."""
    return GoogleEngine(sleep=recorder.sleep, jitter=recorder.jitter, **options)


# --- success -----------------------------------------------------------------------------------------


def test_a_real_mp3_reply_becomes_pcm_at_24_khz() -> None:
    recorder = Recorder()
    with fake_google([real_mp3()], tld="co.uk") as google:
        speech = engine(recorder, tld="co.uk").synthesize("Hello from the fake Google.", voice="en")
    assert speech.sample_rate == 24000
    assert 1.0 < speech.duration_s < 3.0 and peak(speech.samples) > 2000
    assert len(google.requests) == 1 and recorder.slept == []
    request = google.requests[0]
    assert request.url == "https://translate.google.co.uk/_/TranslateWebserverUi/data/batchexecute"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded;charset=utf-8"
    assert sent_rpc(request.body) == ["Hello from the fake Google.", "en", None, "null"]


def test_language_and_slow_mode_reach_google() -> None:
    with fake_google([real_mp3()], tld="com.au") as google:
        engine(Recorder(), tld="com.au", slow=True).synthesize("Bonjour.", voice="fr")
    assert google.rpcs == [["Bonjour.", "fr", True, "null"]]


def test_long_text_is_sent_in_parts_and_the_audio_joined() -> None:
    sentence = "The crew of the International Space Station watches the Earth in silence tonight. "
    with fake_google([real_mp3("One."), real_mp3("Two.")]) as google:
        speech = engine(Recorder()).synthesize(sentence * 2, voice="en")
    assert len(google.requests) == 2 and all(len(rpc[0]) <= 100 for rpc in google.rpcs)
    one = engine(Recorder())
    with fake_google([real_mp3("One.")]):
        single = one.synthesize("One.", voice="en")
    assert speech.duration_s > single.duration_s * 1.5


def test_text_without_words_is_silence_and_sends_nothing() -> None:
    with fake_google([]) as google:
        speech = engine(Recorder()).synthesize(" ... ", voice="en")
    assert speech.samples == b"" and google.requests == []


def test_an_injected_session_like_client_is_used() -> None:
    """Any object with requests' ``Session.send`` will do; the engine needs nothing else."""

    class Client:
        def __init__(self) -> None:
            self.sent: list[tuple[Any, dict[str, Any]]] = []

        def send(self, request: Any, **options: Any) -> requests.Response:
            self.sent.append((request, options))
            response = requests.Response()
            response.status_code, response.reason = 200, "OK"
            response._content = google_reply(real_mp3())
            return response

    client = Client()
    speech = GoogleEngine(session=client).synthesize("Hello.", voice="en")
    assert speech.duration_s > 1.0
    assert len(client.sent) == 1 and client.sent[0][1] == {"timeout": (5.0, 20.0)}


# --- retries -------------------------------------------------------------------------------------------


def test_429_5xx_and_time_outs_are_retried_with_exponential_backoff_and_jitter() -> None:
    recorder = Recorder(jitter=0.5)
    with fake_google([429, 500, "timeout", 503, real_mp3()]) as google:
        speech = engine(recorder).synthesize("Hello.", voice="en")
    assert speech.duration_s > 1.0
    assert len(google.requests) == 5
    assert recorder.slept == [1.5, 3.0, 6.0, 12.0]  # 1 s doubling, times (1 + jitter)


def test_the_jitter_comes_from_the_injected_random_source() -> None:
    waits = []
    for jitter in (0.0, 0.25, 0.99):
        recorder = Recorder(jitter=jitter)
        with fake_google([502, real_mp3()]):
            engine(recorder, backoff_s=2.0).synthesize("Hello.", voice="en")
        waits += recorder.slept
    assert waits == [2.0, 2.5, 3.98]


def test_backoff_is_capped() -> None:
    recorder = Recorder(jitter=0.9)
    with fake_google([429] * 9 + [real_mp3()]):
        engine(recorder, attempts=10, backoff_s=4.0).synthesize("Hello.", voice="en")
    assert recorder.slept[:4] == [7.6, 15.2, 30.4, 60.0] and max(recorder.slept) == 60.0 and len(recorder.slept) == 9


def test_giving_up_is_one_line_saying_what_to_do() -> None:
    recorder = Recorder()
    with fake_google([429] * 10) as google, pytest.raises(EngineError) as raised:
        engine(recorder).synthesize("Hello.", voice="en")
    assert str(raised.value) == (
        "gTTS: Google answered 429 Too Many Requests 5 times; try again later or use --engine espeak"
    )
    assert len(google.requests) == 5 and len(recorder.slept) == 4


def test_repeated_time_outs_give_up_the_same_way() -> None:
    recorder = Recorder()
    with (
        fake_google(["timeout"] * 3),
        pytest.raises(EngineError, match=r"^gTTS: Google timed out 3 times; try again later or use --engine espeak$"),
    ):
        engine(recorder, attempts=3).synthesize("Hello.", voice="en")
    assert len(recorder.slept) == 2


@pytest.mark.parametrize(("status", "reason"), [(403, "Forbidden"), (400, "Bad Request")])
def test_a_client_error_is_not_retried(status: int, reason: str) -> None:
    recorder = Recorder()
    with (
        fake_google([status, real_mp3()]) as google,
        pytest.raises(EngineError, match=f"^gTTS: Google answered {status} {reason}; check --voice and --tld"),
    ):
        engine(recorder).synthesize("Hello.", voice="en")
    assert len(google.requests) == 1 and recorder.slept == []


def test_unreachable_google_is_engine_unavailable() -> None:
    recorder = Recorder()
    with (
        fake_google(["refused"] * 5) as google,
        pytest.raises(EngineUnavailable, match=r"could not reach Google \(2 attempts\); .* use --engine espeak"),
    ):
        engine(recorder, attempts=2).synthesize("Hello.", voice="en")
    assert len(google.requests) == 2


def test_a_reply_without_audio_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="held no audio"):
        decode_reply(')]}\'\n\n20\n[["wrb.fr","jQ1olc",null]]\n')


def test_a_reply_with_broken_audio_is_an_engine_error() -> None:
    with (
        fake_google([b"this is not an mp3 at all" * 20]),
        pytest.raises(EngineError, match=r"^gTTS: Google's audio for 'Hello\.' could not be decoded"),
    ):
        engine(Recorder()).synthesize("Hello.", voice="en")


def test_other_urls_are_refused_by_the_fake() -> None:
    """The fake serves one endpoint; a request elsewhere (here: another tld) never leaves."""
    with (
        fake_google([real_mp3()], tld="com") as google,
        pytest.raises(EngineUnavailable, match="could not reach Google"),
    ):
        engine(Recorder(), tld="co.uk", attempts=1).synthesize("Hello.", voice="en")
    assert google.requests == []


# --- settings -------------------------------------------------------------------------------------------


def test_unknown_language_lists_what_gtts_offers() -> None:
    with pytest.raises(SettingsError) as raised:
        GoogleEngine().check_voice("xx")
    assert str(raised.value).startswith("unknown language 'xx' for gtts; try: af, am, ar,")
    assert str(raised.value).endswith(", ... (reviewpub voices --engine gtts)")
    with pytest.raises(SettingsError, match=r"unknown language 'zh-XX' for gtts; try: zh, zh-CN, zh-TW"):
        GoogleEngine().check_voice("zh-XX")


def test_an_unknown_language_is_refused_before_anything_is_sent() -> None:
    with fake_google([]) as google, pytest.raises(SettingsError, match="unknown language 'klingon'"):
        GoogleEngine().synthesize("Hello.", voice="klingon")
    assert google.requests == []


def test_voices_are_gtts_languages() -> None:
    english = GoogleEngine().voices("en")
    assert [voice.id for voice in english] == ["en"] and english[0].name == "English"
    assert {"zh-CN", "zh-TW"} <= {voice.id for voice in GoogleEngine().voices("zh")}
    assert len(GoogleEngine().voices()) > 50


@pytest.mark.parametrize("tld", ["", "com/evil", "co..uk", "COM", "x" * 5])
def test_a_bad_tld_is_a_settings_error(tld: str) -> None:
    with pytest.raises(SettingsError, match=r"--tld .*: give a Google domain ending such as com, co.uk or com.au"):
        GoogleEngine(tld=tld)


def test_sound_options_and_class_facts() -> None:
    assert GoogleEngine(tld="co.in", slow=True).sound_options() == {"tld": "co.in", "slow": True}
    assert GoogleEngine.needs_network and GoogleEngine.max_parallel == 2 and GoogleEngine.default_voice == "en"


def test_the_engine_pickles_into_worker_processes() -> None:
    copy = pickle.loads(pickle.dumps(GoogleEngine(tld="co.uk", slow=True, attempts=3)))
    assert (copy.tld, copy.slow, copy.attempts) == ("co.uk", True, 3)
