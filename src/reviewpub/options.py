"""BuildOptions: everything a build needs besides the Document, from the command line or a script."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.errors import SettingsError
from reviewpub.layout import ReviewLayout
from reviewpub.podcast import DEFAULT_CATEGORY

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.narration.settings import AudioSettings


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build needs besides the Document: where, which voice, what sound."""

    output: Path
    """The output folder (``output/``)."""
    engine: str = "piper"
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    """Constructor options of the engine that the user set (rate, pitch, tld, slow, voice_model, ...)."""
    voice: str | None = None
    lexicon: Path | None = None
    audio: AudioSettings | None = None
    """None means the defaults (podcast loudness, mono, 44.1 kHz, 96 kbps)."""
    cache_dir: Path | None = None
    """None means the user cache directory."""
    jobs: int | None = None
    executor: str = "local"
    """``local`` (worker processes here) or ``ray`` (synthesis on the cluster at ``ray_address``)."""
    ray_address: str | None = None
    device: str = "cpu"
    """``cuda``: Piper on onnxruntime's CUDA provider (here, or on the Ray cluster's GPUs)."""
    base_url: str | None = None
    category: tuple[str, ...] = DEFAULT_CATEGORY
    explicit: bool = False
    in_show: bool = False
    """The review is an episode of a folder's show: its page subscribes to the show's feed."""

    @classmethod
    def from_cli(
        cls,
        *,
        output: Path,
        engine: str = "piper",
        voice: str | None = None,
        voice_model: Path | None = None,
        speaker: str | None = None,
        voices_dir: Path | None = None,
        rate: int | None = None,
        pitch: int | None = None,
        tld: str | None = None,
        slow: bool | None = None,
        lexicon: Path | None = None,
        bitrate: int | None = None,
        sample_rate: str | None = None,
        stereo: bool = False,
        loudness: str = "podcast",
        cache_dir: Path | None = None,
        jobs: int | None = None,
        executor: str = "local",
        ray_address: str | None = None,
        device: str = "cpu",
        base_url: str | None = None,
        category: tuple[str, ...] = (),
        explicit: bool = False,
    ) -> BuildOptions:
        """Build options from command-line values, where ``None`` means "not given".

        Raises:
            SettingsError: a value is wrong (checked here, before anything is narrated or written).
        """
        from reviewpub.narration.settings import AudioSettings
        from reviewpub.podcast import feed_base_url, podcast_category

        if base_url is not None:
            feed_base_url(base_url)  # a bad --base-url must not wait for the feed, the last file written

        given = {
            "rate": rate,
            "pitch": pitch,
            "tld": tld,
            "slow": slow,
            "voice_model": voice_model,
            "speaker": speaker,
            "voices_dir": voices_dir,
        }
        if device != "cpu":
            if engine != "piper":
                raise SettingsError(f"--device {device}: only the piper engine runs on a GPU; use --device cpu")
            given["device"] = device
        audio = AudioSettings.from_options(
            loudness=loudness,
            bitrate_kbps=bitrate,
            sample_rate=int(sample_rate) if sample_rate else None,
            stereo=stereo,
        )
        return cls(
            output=output,
            engine=engine,
            engine_options={name: value for name, value in given.items() if value is not None},
            voice=voice,
            lexicon=lexicon,
            audio=audio,
            cache_dir=cache_dir,
            jobs=jobs,
            executor=executor,
            ray_address=ray_address,
            device=device,
            base_url=base_url,
            category=podcast_category(tuple(category)),
            explicit=explicit,
        )

    def layout(self, document: Document) -> ReviewLayout:
        """Where each of ``document``'s files goes under ``output/``."""
        return ReviewLayout(self.output, document.name)

    def folder(self, document: Document) -> Path:
        """``output/<name>/``: where everything but the text EPUB goes."""
        return self.layout(document).folder

    def audio_settings(self) -> AudioSettings:
        """The audio settings, defaults filled in."""
        from reviewpub.narration.settings import AudioSettings

        return self.audio if self.audio is not None else AudioSettings()
