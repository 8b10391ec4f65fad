"""Audio-file primitives that narration and the writers share: MP3 encoding and stable digests.

Narration encodes each chapter into its cache as soon as it is spoken; the chapter-MP3 writer
encodes what the cache does not hold, and the whole-book MP3 encodes the book: all three must
agree on LAME's arguments, byte for byte, and key their files on the same digests. They live
here, below both layers, so no writer reaches into narration's internals for them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.ffmpeg import run_ffmpeg

if TYPE_CHECKING:
    from reviewpub.narration.settings import AudioSettings

MP3_ENCODING_VERSION = 1
"""Bumped when ``encode_mp3`` changes its arguments, so encodings cached the old way are not reused."""
MP3_QUALITY = 7
"""LAME's algorithm quality (0 best, 9 fastest): 7 encodes about twice as fast as the default
and is transparent for speech at 96 kbps (encoding dominates a build's time)."""
EncodedCopy = Callable[[Path, str, Path], bool]
"""``(chapter WAV, encoding name, destination) -> whether a whole cached encoding was copied``:
how the chapter-MP3 writer asks narration's cache for an encoding made while narrating."""
WAV_PACKET_BYTES = 8192
"""How much of a chapter WAV ffmpeg's demuxer hands on at a time (its default is 4,096 bytes).

ffmpeg 7 runs reading, decoding, filtering, encoding and writing on threads of their own that
hand each other every packet and frame: 4 KiB packets (93 ms at 22.05 kHz) mean a wake-up
every few milliseconds. 8 KiB ones cost 3 to 4% less CPU per chapter and give the same bytes:
the resampler and LAME see the same samples in the same order, only cut differently on the
way in. Larger packets save a little more on long chapters but cost every encoding a fixed
start (32 KiB: 34 ms more for a 53 s chapter, 0.2 s instead of 0.17), which short reviews feel."""
INPUT_DIGEST_FRAME = "reviewpub-input"
"""ID3 ``TXXX`` description of the digest of an MP3's audio inputs (chapter MP3s and the whole book)."""


def digest(*parts: Any) -> str:
    """A stable hex digest of JSON-serialisable parts (dict keys sorted, so order never matters)."""
    encoded = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def lame_arguments(bitrate_kbps: int) -> list[str]:
    """ffmpeg's output arguments for LAME CBR at ``bitrate_kbps``: every MP3 reviewpub writes uses these.

    A LAME (Xing) header records the encoder delay and padding, so decoders drop them; no ID3
    tag is written here (mutagen writes the tags afterwards).
    """
    return [
        "-c:a",
        "libmp3lame",
        "-b:a",
        f"{bitrate_kbps}k",
        "-compression_level",
        str(MP3_QUALITY),
        "-write_xing",
        "1",
        "-id3v2_version",
        "0",
    ]


def lame_scale(bitrate_kbps: int) -> float:
    """The gain LAME's CBR/ABR presets apply to the input (``scale`` in its ``abr_switch_map``).

    LAME lowers the level by 0.95 (-0.45 dB) up to 160 kbps, 0.97 at 192 and 0.98 at 224
    kbps, to keep its own rounding from clipping; ``encode_mp3`` undoes it so the MP3 is
    exactly as loud as the PCM it came from.
    """
    if bitrate_kbps >= 256:
        return 1.0
    if bitrate_kbps >= 224:
        return 0.98
    if bitrate_kbps >= 192:
        return 0.97
    return 0.95


def encode_mp3(wav: Path, mp3: Path, settings: AudioSettings) -> None:
    """Encode a chapter WAV once, as CBR MP3 at the settings' rate, channels and bitrate (no tags).

    The level is raised by exactly what LAME's presets take away (``lame_scale``; not with
    ``--loudness off``, which keeps the engine's level and headroom), so the encoded file
    measures what the PCM measured. A stereo file carries the mono signal on both channels at
    full level (ffmpeg's own upmix would lower it by 3 dB), so it measures 3 LU louder:
    -16 LUFS from -19 LUFS mono. A LAME header records the encoder delay and padding, so
    decoders drop them and the decoded audio lines up sample for sample with the WAV.
    """
    run_ffmpeg(mp3_arguments(wav, mp3, settings), what=str(mp3))


def mp3_arguments(
    wav: Path, mp3: Path, settings: AudioSettings, *, packet_bytes: int | None = WAV_PACKET_BYTES
) -> list[str | Path]:
    """ffmpeg's arguments for ``encode_mp3``; ``packet_bytes`` None reads the WAV in ffmpeg's default packets."""
    # Imported here: the narration package imports this module, so a top-level import would be a cycle.
    from reviewpub.narration.settings import LoudnessProfile

    # soxr: a band-limited resampler over the whole chapter at once, so the engine's 22.05 kHz
    # reaches 44.1 kHz without imaging and without a seam at any clip join.
    filters = [f"aresample={settings.sample_rate}:resampler=soxr"]
    if settings.loudness is not LoudnessProfile.OFF:
        filters.append(f"volume={1 / lame_scale(settings.bitrate_kbps):.6f}:precision=float")
    if settings.channels == 2:
        filters.append("pan=stereo|c0=c0|c1=c0")
    packets: list[str | Path] = ["-max_size", str(packet_bytes)] if packet_bytes is not None else []
    return [
        *packets,
        "-i",
        wav,
        "-map_metadata",
        "-1",
        "-af",
        ",".join(filters),
        "-ar",
        str(settings.sample_rate),
        "-ac",
        str(settings.channels),
        *lame_arguments(settings.bitrate_kbps),
        "-f",
        "mp3",
        mp3,
    ]


def mp3_encoding(settings: AudioSettings) -> str:
    """A short name for how ``encode_mp3`` encodes under ``settings``: cached encodings are keyed by it.

    Everything ``encode_mp3`` reads from the settings is in it, with the encoder's quality, so
    an encoding made under other settings (or by an older rule) is never taken for this one.
    """
    from reviewpub.narration.settings import LoudnessProfile

    return digest(
        "mp3",
        MP3_ENCODING_VERSION,
        settings.sample_rate,
        settings.channels,
        settings.bitrate_kbps,
        settings.loudness is LoudnessProfile.OFF,
        MP3_QUALITY,
    )[:16]
