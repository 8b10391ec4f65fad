"""How the narration should sound and be encoded: loudness profile, MP3 format, pauses.

One frozen ``AudioSettings`` travels from the command line to narration (pauses, loudness,
sample rate shape the chapter PCM) and to the MP3 writer (bitrate, channels), so both agree.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from reviewpub.errors import SettingsError


class LoudnessProfile(str, enum.Enum):
    """Loudness profiles (``--loudness``): what level every chapter is brought to."""

    PODCAST = "podcast"
    """-16 LUFS integrated for stereo, -19 LUFS for mono (±1 LU), true peak at most -1.5 dBTP."""
    AUDIOBOOK = "audiobook"
    """ACX: RMS -23 to -18 dB, peak at most -3 dB, room tone at head and tail, 44.1 kHz, 192 kbps CBR."""
    OFF = "off"
    """The engine's own level, untouched."""


MPEG1_RATES = (32000, 44100, 48000)
MPEG2_RATES = (8000, 11025, 12000, 16000, 22050, 24000)
MPEG1_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
"""The CBR bitrates (kbps) an MPEG-1 Layer III stream can have (32, 44.1 and 48 kHz)."""
MPEG2_BITRATES = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
"""The CBR bitrates (kbps) of MPEG-2 and 2.5 Layer III (8 to 24 kHz)."""
DEFAULT_BITRATE_KBPS = 96
"""Podcast directories' advice for mono speech."""
AUDIOBOOK_BITRATE_KBPS = 192
"""ACX asks for 192 kbps (or more) constant-bitrate MP3."""
DEFAULT_SAMPLE_RATE = 44100
"""ACX and most players want 44.1 kHz."""


@dataclass(frozen=True)
class AudioSettings:
    """Every setting that shapes the chapter audio and its MP3.

    ``bitrate_kbps`` and ``sample_rate`` left at 0 mean "the profile's default": 96 kbps
    (192 kbps for the audiobook profile) and 44.1 kHz. The audiobook profile refuses what ACX
    would reject (less than 192 kbps, another sample rate).
    """

    loudness: LoudnessProfile = LoudnessProfile.PODCAST
    bitrate_kbps: int = 0
    """MP3 bitrate, constant (CBR)."""
    sample_rate: int = 0
    """Sample rate of the chapter audio and of the MP3s."""
    channels: int = 1
    """1 (mono) or 2 (``--stereo``: the same voice on both channels)."""
    heading_pause_ms: int = 700
    """Silence after a heading, before its first sentence."""
    sentence_pause_ms: int = 300
    """Silence between two sentences of a paragraph."""
    paragraph_pause_ms: int = 650
    """Silence before the first sentence of a paragraph, list item or quoted paragraph."""
    section_pause_ms: int = 900
    """Silence before a section's (or FAQ question's) heading."""

    def __post_init__(self) -> None:
        """Fill the profile's defaults and refuse settings no MP3 (or ACX) can have."""
        profile = LoudnessProfile(self.loudness)
        object.__setattr__(self, "loudness", profile)
        if not self.sample_rate:
            object.__setattr__(self, "sample_rate", DEFAULT_SAMPLE_RATE)
        if not self.bitrate_kbps:
            default = AUDIOBOOK_BITRATE_KBPS if profile is LoudnessProfile.AUDIOBOOK else DEFAULT_BITRATE_KBPS
            object.__setattr__(self, "bitrate_kbps", default)
        if self.channels not in (1, 2):
            raise SettingsError(f"channels {self.channels}: MP3s here are mono (1) or stereo (2)")
        if self.sample_rate not in MPEG1_RATES + MPEG2_RATES:
            rates = ", ".join(str(rate) for rate in sorted(MPEG1_RATES + MPEG2_RATES))
            raise SettingsError(f"--sample-rate {self.sample_rate}: MP3 supports {rates} Hz")
        allowed = MPEG1_BITRATES if self.sample_rate in MPEG1_RATES else MPEG2_BITRATES
        if self.bitrate_kbps not in allowed:
            raise SettingsError(
                f"--bitrate {self.bitrate_kbps}: at {self.sample_rate} Hz an MP3 can be "
                f"{', '.join(str(rate) for rate in allowed)} kbps"
            )
        if profile is LoudnessProfile.AUDIOBOOK:
            if self.sample_rate != DEFAULT_SAMPLE_RATE:
                raise SettingsError(f"--sample-rate {self.sample_rate}: the audiobook profile (ACX) needs 44100 Hz")
            if self.bitrate_kbps < AUDIOBOOK_BITRATE_KBPS:
                raise SettingsError(
                    f"--bitrate {self.bitrate_kbps}: the audiobook profile (ACX) needs 192 kbps "
                    "or more; leave --bitrate out"
                )
        pauses = (self.heading_pause_ms, self.sentence_pause_ms, self.paragraph_pause_ms, self.section_pause_ms)
        if any(pause < 0 or pause > 10000 for pause in pauses):
            raise SettingsError(f"pauses {pauses} ms: each must be between 0 and 10000 ms")

    @classmethod
    def from_options(
        cls,
        *,
        loudness: str = "podcast",
        bitrate_kbps: int | None = None,
        sample_rate: int | None = None,
        stereo: bool = False,
    ) -> AudioSettings:
        """Settings from command-line values (``None``: not given, the profile decides)."""
        try:
            profile = LoudnessProfile(loudness)
        except ValueError:
            names = ", ".join(item.value for item in LoudnessProfile)
            raise SettingsError(f"--loudness {loudness}: choose one of {names}") from None
        return cls(
            loudness=profile, bitrate_kbps=bitrate_kbps or 0, sample_rate=sample_rate or 0, channels=2 if stereo else 1
        )

    @property
    def target_lufs(self) -> float:
        """Integrated loudness the podcast profile gives the encoded file."""
        return -16.0 if self.channels == 2 else -19.0

    @property
    def head_ms(self) -> int:
        """Silence (room tone for ACX, which asks 0.5–1 s) before the first word."""
        return 750 if self.loudness is LoudnessProfile.AUDIOBOOK else 250

    @property
    def tail_ms(self) -> int:
        """Silence (room tone for ACX, which asks 1–5 s) after the last word."""
        return 2000 if self.loudness is LoudnessProfile.AUDIOBOOK else 500

    def replace(self, **changes: Any) -> AudioSettings:
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)

    def pcm_key(self) -> dict[str, Any]:
        """What of these settings shapes the chapter PCM: part of its cache key.

        Bitrate, channels and sample rate only matter to the encoder (stereo is the mono PCM
        on both channels; chapters stay at the engine's rate and the encoder resamples), so
        changing them re-encodes the MP3s without re-rendering the chapters.
        """
        values = dataclasses.asdict(self)
        del values["bitrate_kbps"], values["channels"], values["sample_rate"]
        values["loudness"] = self.loudness.value
        return values
