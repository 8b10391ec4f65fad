"""Google Translate's text-to-speech through gTTS: natural voices, but it SENDS THE TEXT TO GOOGLE.

gTTS builds the requests (it splits long text, packs each part into the ``batchexecute`` RPC
its translate.google.<tld> endpoint expects) and we send them ourselves, because
``gTTS.stream`` opens its own ``requests.Session`` with TLS checks off and gives up at the
first failure. The HTTP client comes in through the constructor (anything with requests'
``Session.send``), so tests replay real replies, 429s, 5xx and time-outs without a network.
Throttling, server errors and time-outs are retried with exponential backoff and jitter, a
bounded number of times; then one line tells the user what to do.
"""

from __future__ import annotations

import base64
import binascii
import functools
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from reviewpub.engines.base import Engine, Speech, Voice
from reviewpub.errors import EngineError, EngineUnavailable, ReviewpubError, SettingsError

SAMPLE_RATE = 24000
"""gTTS MP3s are 24 kHz mono; they are decoded to PCM at that rate."""
AUDIO_PATTERN = re.compile(r'jQ1olc","\[\\"(.*?)\\"]')
"""The base64 audio inside the reply's JSON envelope (the same pattern gTTS's ``stream`` uses)."""
TIMEOUT_S = (5.0, 20.0)
"""(connect, read) time-outs of one request."""
MAX_BACKOFF_S = 60.0
TLD_PATTERN = re.compile(r"[a-z]{2,3}(\.[a-z]{2,3})?")


def is_retryable(status: int) -> bool:
    """Throttling (429) and server errors (5xx) may pass if asked again later."""
    return status == 429 or 500 <= status <= 599


@functools.lru_cache(maxsize=1)
def languages() -> dict[str, str]:
    """gTTS's language codes and names (from its bundled table: no network)."""
    from gtts.lang import tts_langs

    return dict(tts_langs())


class GoogleEngine(Engine):
    """gTTS: Google Translate's voices; needs the internet and sends every sentence to Google."""

    name = "gtts"
    description = "Google Translate TTS via gTTS (online; sends the text to Google)"
    needs_network = True
    default_voice = "en"
    sample_rate = SAMPLE_RATE
    max_parallel: ClassVar[int | None] = 2
    requests_in_flight: ClassVar[threading.BoundedSemaphore] = threading.BoundedSemaphore(2)
    """The polite limit also holds for threads of one process (``max_parallel`` caps processes)."""

    def __init__(
        self,
        tld: str = "com",
        slow: bool = False,
        session: Any = None,
        attempts: int = 5,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Set up the engine; nothing is sent until ``synthesize``.

        Args:
            tld: Google domain ending, which picks the accent (``com``, ``co.uk``, ``com.au``, ``co.in``).
            slow: gTTS's slow mode.
            session: HTTP client with ``send(prepared_request, timeout=..., **settings)``, e.g. a
                ``requests.Session`` with a test adapter mounted; a fresh Session when None.
            attempts: requests per text part before giving up (1 means no retry).
            backoff_s: first wait between attempts; it doubles each time.
            sleep: how to wait (tests pass a recorder).
            jitter: random source in [0, 1); the wait is multiplied by ``1 + jitter()``.
        """
        if not isinstance(tld, str) or not TLD_PATTERN.fullmatch(tld):
            raise SettingsError(f"--tld {tld!r}: give a Google domain ending such as com, co.uk or com.au")
        if attempts < 1:
            raise SettingsError(f"attempts {attempts}: gTTS needs at least one attempt")
        self.tld = tld
        self.slow = bool(slow)
        self.session = session
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.jitter = jitter

    def voices(self, language: str | None = None) -> list[Voice]:
        """gTTS languages (its "voices"), only those for ``language`` when given; ``--tld`` sets the accent."""
        found = [Voice(id=code, name=name, languages=(code,)) for code, name in sorted(languages().items())]
        if language:
            wanted = language.lower()
            found = [
                voice
                for voice in found
                if voice.id.lower() == wanted
                or voice.id.lower().startswith(wanted + "-")
                or wanted.startswith(voice.id.lower() + "-")
            ]
        return found

    def check_voice(self, voice: str) -> None:
        """Raise a SettingsError naming some languages when gTTS does not know ``voice``."""
        if voice in languages():
            return
        nearby = [item.id for item in self.voices(voice.split("-")[0])] or sorted(languages())[:15]
        raise SettingsError(
            f"unknown language {voice!r} for gtts; try: {', '.join(nearby)}, ... (reviewpub voices --engine gtts)"
        )

    def sound_options(self) -> dict[str, Any]:
        """The accent (tld) and slow mode change the sound."""
        return {"tld": self.tld, "slow": self.slow}

    def http(self) -> Any:
        """The HTTP client: the injected one, else a requests Session made on first use."""
        if self.session is None:
            import requests

            self.session = requests.Session()
        return self.session

    def synthesize(self, text: str, *, voice: str) -> Speech:
        """Speak one sentence through Google, retrying throttling, server errors and time-outs.

        Raises:
            SettingsError: ``voice`` is not a gTTS language.
            EngineUnavailable: Google cannot be reached at all.
            EngineError: Google kept refusing, or its reply held no audio.
        """
        self.check_voice(voice)
        mp3 = self.fetch_mp3(text, voice)
        if not mp3:
            return Speech(samples=b"", sample_rate=SAMPLE_RATE)
        from reviewpub.ffmpeg import run_ffmpeg

        try:
            samples = run_ffmpeg(
                [
                    "-f",
                    "mp3",
                    "-i",
                    "pipe:0",
                    "-f",
                    "s16le",
                    "-acodec",
                    "pcm_s16le",
                    "-ac",
                    "1",
                    "-ar",
                    str(SAMPLE_RATE),
                    "pipe:1",
                ],
                what="gTTS audio",
                stdin=mp3,
            )
        except ReviewpubError as error:
            raise EngineError(f"gTTS: Google's audio for {text[:40]!r} could not be decoded ({error})") from None
        return Speech(samples=samples, sample_rate=SAMPLE_RATE)

    def fetch_mp3(self, text: str, voice: str) -> bytes:
        """The MP3 bytes Google returns for ``text`` (all parts, if gTTS splits a long text); b"" for no words."""
        import requests
        from gtts import gTTS

        try:
            # _prepare_requests is gTTS's own split-and-pack step (2.3 to 2.5); its public
            # get_bodies() wraps it, but gives bodies without the URL and headers we need.
            prepared = gTTS(text, tld=self.tld, lang=voice, slow=self.slow, lang_check=False)._prepare_requests()
        except AssertionError:
            return b""  # gTTS found no word to say (only punctuation); silence, as eSpeak NG gives
        except ValueError as error:
            raise EngineError(f"gTTS cannot speak {text[:40]!r}: {error}") from None
        return b"".join(self.send(request, requests) for request in prepared)

    def send(self, request: Any, requests: Any) -> bytes:
        """One request with bounded retries; returns the decoded audio of the reply."""
        session = self.http()
        merge = getattr(session, "merge_environment_settings", None)
        # Session.send alone ignores HTTPS_PROXY and REQUESTS_CA_BUNDLE; Session.request would apply them.
        settings = merge(request.url, {}, None, None, None) if merge is not None else {}
        problem = ""
        for attempt in range(1, self.attempts + 1):
            try:
                with self.requests_in_flight:
                    response = session.send(request, timeout=TIMEOUT_S, **settings)
            except requests.exceptions.Timeout:
                problem = "timed out"
            except requests.exceptions.ConnectionError:
                problem = "could not be reached"
                if attempt == self.attempts:
                    raise EngineUnavailable(
                        f"gTTS: could not reach Google ({self.attempts} attempts); "
                        "check the connection or use --engine espeak"
                    ) from None
            else:
                if response.status_code == 200:
                    return decode_reply(response.text)
                if not is_retryable(response.status_code):
                    raise EngineError(
                        f"gTTS: Google answered {response.status_code} {response.reason}; "
                        "check --voice and --tld, or use --engine espeak"
                    )
                problem = f"answered {response.status_code} {response.reason}"
            if attempt < self.attempts:
                self.sleep(self.backoff(attempt))
        raise EngineError(f"gTTS: Google {problem} {self.attempts} times; try again later or use --engine espeak")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): doubling, jittered, capped."""
        return min(MAX_BACKOFF_S, self.backoff_s * float(2 ** (attempt - 1)) * (1.0 + self.jitter()))


def decode_reply(text: str) -> bytes:
    """The audio inside Google's batchexecute reply (base64 in a JSON envelope).

    Raises:
        EngineError: no audio in the reply (an unsupported language, or Google changed the format).
    """
    for line in text.splitlines():
        if "jQ1olc" in line:
            found = AUDIO_PATTERN.search(line)
            if found:
                try:
                    return base64.b64decode(found.group(1))  # lenient, as gTTS: skips JSON escapes
                except binascii.Error:
                    break
    raise EngineError(
        "gTTS: Google's reply held no audio (unsupported language, or the service changed); use --engine espeak"
    )
