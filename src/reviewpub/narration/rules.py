"""The numbers that shape narrated audio: how clips are trimmed, chapters levelled and limited.

They live apart from the code that applies them (``pcm``, ``levelling``, ``wav``, which need
numpy) because every cache key includes them (``plan``): the main process keys and looks up
chapters without loading numpy, which only worker processes need.
"""

from __future__ import annotations

TRIM_WINDOW_MS = 5
TRIM_FLOOR = 64
"""Amplitude (about -54 dBFS) under which a clip's head and tail are always silence."""
TRIM_RELATIVE = 100
"""…and so is anything 40 dB (a hundredth) below the clip's own peak."""
TRIM_MARGIN_MS = 25
"""Kept before the first and after the last audible window, so soft onsets are not clipped."""

LIMITER_WINDOW_MS = 10
LIMITER_STEP_DB = 1.0
"""The limiter's gain moves at most this much between 10 ms windows (100 dB/s): no clicks."""

MONO_TARGET_LUFS = -19.0
"""The podcast profile's level for the mono PCM; its stereo copy measures 3 LU more, -16 LUFS."""
PODCAST_CEILING_DBFS = -3.0
"""Sample-peak ceiling leaving room for MP3 overshoot under the -1.5 dBTP true-peak limit."""
AUDIOBOOK_RMS_DBFS = -20.5
"""Middle of ACX's -23 to -18 dB RMS window."""
AUDIOBOOK_CEILING_DBFS = -4.5
"""Sample-peak ceiling under ACX's -3 dB peak limit, with room for MP3 overshoot."""
ROOM_TONE_RMS_DBFS = -72.0
"""Level of the room tone laid under audiobook chapters: ACX wants a noise floor below -60 dB
but rejects dead digital silence between sentences."""
LEVELLING_VERSION = 3
"""Bumped when levelling changes the samples it writes (2: in-process BS.1770, numpy gains
rounded to nearest; 3: the meter's filter regrouped and run in float32, which moves its
loudness by about 1e-7 LU and so the rounding of a few samples), so chapters levelled the old
way are made again, not reused."""

TRIM_RULES = (TRIM_WINDOW_MS, TRIM_FLOOR, TRIM_RELATIVE, TRIM_MARGIN_MS)
"""How stored clips are trimmed: part of every clip's cache key."""
LEVELLING_RULES = (
    MONO_TARGET_LUFS,
    PODCAST_CEILING_DBFS,
    AUDIOBOOK_RMS_DBFS,
    AUDIOBOOK_CEILING_DBFS,
    ROOM_TONE_RMS_DBFS,
    LIMITER_WINDOW_MS,
    LIMITER_STEP_DB,
)
"""How a chapter's PCM is levelled and limited: part of its cache key (with ``LEVELLING_VERSION``)."""
