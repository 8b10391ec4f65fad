"""Google Translate's text-to-speech through gTTS: natural voices, but it SENDS THE TEXT TO GOOGLE.

gTTS builds the request and knows the reply's format; the HTTP client comes in through the
constructor so tests replay recorded replies (and 429s, 5xx, time-outs) without a network.
Failures are retried with exponential backoff and jitter, a bounded number of times.
"""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar

from reviewpub.engines.base import Engine, Speech, Voice
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError

SAMPLE_RATE = 24000
AUDIO_PATTERN = re.compile(r'jQ1olc","\[\\"(.*?)\\"]')
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT_S = (5.0, 20.0)


class GoogleEngine(Engine):
    """gTTS: Google Translate's voices; needs the internet and sends every sentence to Google."""

    name = "gtts"
    description = "Google Translate TTS via gTTS (online; sends the text to Google)"
    needs_network = True
    default_voice = "en"
    max_parallel: ClassVar[int | None] = 2

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
        if not re.fullmatch(r"[a-z]{2,3}(\.[a-z]{2,3})?", tld):
            raise SettingsError(f"--tld {tld!r}: give a Google domain ending such as com, co.uk or com.au")
        self.tld = tld
        self.slow = bool(slow)
        self.session = session
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.jitter = jitter

    def voices(self, language: str | None = None) -> list[Voice]:
        """gTTS languages (its "voices"); the accent comes from ``--tld``."""
        from gtts.lang import tts_langs

        languages = tts_langs()
        found = [Voice(id=code, name=name, languages=(code,)) for code, name in sorted(languages.items())]
        if language:
            wanted = language.lower()
            found = [voice for voice in found if voice.id.lower() == wanted or voice.id.lower().startswith(wanted + "-")
                     or wanted.startswith(voice.id.lower() + "-")]
        return found

    def check_voice(self, voice: str) -> None:
        """Raise a SettingsError naming some languages when gTTS does not know ``voice``."""
        from gtts.lang import tts_langs

        if voice not in tts_langs():
            sample = ", ".join(sorted(tts_langs())[:15])
            raise SettingsError(f"unknown language {voice!r} for gtts; try: {sample}, ... (reviewpub voices --engine gtts)")

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
        """Speak one sentence through Google, retrying throttling, server errors and time-outs."""
        mp3 = self.fetch_mp3(text, voice)
        from reviewpub.ffmpeg import run_ffmpeg

        samples = run_ffmpeg(
            ["-f", "mp3", "-i", "pipe:0", "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"],
            what="gTTS audio", stdin=mp3,
        )
        return Speech(samples=samples, sample_rate=SAMPLE_RATE)

    def fetch_mp3(self, text: str, voice: str) -> bytes:
        """The MP3 bytes Google returns for ``text`` (all parts, if gTTS splits a long text)."""
        import requests
        from gtts import gTTS

        try:
            speaker = gTTS(text, tld=self.tld, lang=voice, slow=self.slow, lang_check=False)
            prepared = speaker._prepare_requests()
        except (ValueError, AssertionError) as error:
            raise EngineError(f"gTTS cannot speak {text[:40]!r}: {error}") from None
        audio = b""
        for request in prepared:
            audio += self.send(request, requests)
        return audio

    def send(self, request: Any, requests: Any) -> bytes:
        """One request with bounded retries; returns the decoded audio of the reply."""
        problem = ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http().send(request, timeout=TIMEOUT_S)
            except requests.exceptions.Timeout:
                problem = "timed out"
            except requests.exceptions.ConnectionError:
                problem = "could not connect"
                if attempt == self.attempts:
                    raise EngineUnavailable(
                        f"gTTS: could not reach Google ({self.attempts} attempts); check the connection or use --engine espeak"
                    ) from None
            else:
                if response.status_code == 200:
                    return decode_reply(response.text)
                if response.status_code not in RETRY_STATUSES:
                    raise EngineError(
                        f"gTTS: Google answered {response.status_code} {response.reason}; "
                        "check --voice and --tld, or use --engine espeak"
                    )
                problem = f"answered {response.status_code} {response.reason}"
            if attempt < self.attempts:
                self.sleep(self.backoff_s * 2 ** (attempt - 1) * (1 + self.jitter()))
        raise EngineError(f"gTTS: Google {problem} {self.attempts} times; try again later or use --engine espeak")


def decode_reply(text: str) -> bytes:
    """The audio inside Google's batchexecute reply (base64 in a JSON envelope)."""
    for line in text.splitlines():
        if "jQ1olc" in line:
            found = AUDIO_PATTERN.search(line)
            if found:
                return base64.b64decode(found.group(1))
    raise EngineError("gTTS: Google's reply held no audio (unsupported language, or the service changed)")
