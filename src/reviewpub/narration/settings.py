"""How the narration should sound and be encoded: loudness profile, format, pauses."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any


class Loudness(str, enum.Enum):
    """Loudness profiles (``--loudness``)."""

    PODCAST = "podcast"
    """-16 LUFS integrated for stereo, -19 LUFS for mono, true peak at most -1.5 dBTP."""
    AUDIOBOOK = "audiobook"
    """ACX: RMS -23 to -18 dB, peak at most -3 dB, room tone at head and tail, 192 kbps."""
    OFF = "off"
    """The engine's own level."""


@dataclass(frozen=True)
class AudioSettings:
    """Every setting that shapes the chapter audio and its MP3."""

    loudness: Loudness = Loudness.PODCAST
    bitrate_kbps: int = 96
    """MP3 bitrate, constant (CBR); 96 kbps is the podcast directories' advice for speech."""
    sample_rate: int = 44100
    channels: int = 1
    heading_pause_ms: int = 700
    sentence_pause_ms: int = 300
    paragraph_pause_ms: int = 650
    section_pause_ms: int = 900

    @classmethod
    def from_options(cls, *, loudness: str = "podcast", bitrate_kbps: int | None = None, sample_rate: int | None = None,
                     stereo: bool = False) -> AudioSettings:
        """Settings from command-line values; the audiobook profile defaults to 192 kbps."""
        profile = Loudness(loudness)
        default_bitrate = 192 if profile is Loudness.AUDIOBOOK else 96
        return cls(loudness=profile, bitrate_kbps=bitrate_kbps or default_bitrate, sample_rate=sample_rate or 44100,
                   channels=2 if stereo else 1)

    @property
    def target_lufs(self) -> float:
        """Integrated loudness of the encoded file for the podcast profile."""
        return -16.0 if self.channels == 2 else -19.0

    @property
    def head_ms(self) -> int:
        """Silence before the first word (ACX asks 0.5–1 s of room tone)."""
        return 750 if self.loudness is Loudness.AUDIOBOOK else 250

    @property
    def tail_ms(self) -> int:
        """Silence after the last word (ACX asks 1–5 s of room tone)."""
        return 2000 if self.loudness is Loudness.AUDIOBOOK else 500

    def key(self) -> dict[str, Any]:
        """What of these settings shapes the chapter PCM (for its cache key)."""
        values = dataclasses.asdict(self)
        values.pop("bitrate_kbps")
        values["loudness"] = self.loudness.value
        return values
