"""Engine registry: names come from ``reviewpub.engines`` entry points, loaded only when chosen.

Built-in engines are registered in our own pyproject.toml like any third-party engine, so a
plugin needs nothing but an entry point. Listing names never imports an engine module.
"""

from __future__ import annotations

import inspect
import logging
from importlib import metadata
from typing import Any

from reviewpub.engines.base import Engine, Speech, Voice, WordMark
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError

__all__ = ["Engine", "Speech", "Voice", "WordMark", "engine_names", "load_engine", "choose_engine", "register", "unregister"]

logger = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "reviewpub.engines"
AUTO = "auto"
PROBE_TEXT = "Hello."
registered: dict[str, type[Engine]] = {}
"""Engines registered at run time (tests, embedding applications); they win over entry points."""


def entry_points() -> dict[str, metadata.EntryPoint]:
    """The installed engine entry points by name."""
    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def engine_names() -> list[str]:
    """Every engine name ``--engine`` accepts (``auto`` aside), without importing any engine."""
    return sorted(set(entry_points()) | set(registered))


def register(name: str, engine_class: type[Engine]) -> None:
    """Make ``engine_class`` available as ``--engine name``."""
    registered[name] = engine_class


def unregister(name: str) -> None:
    """Forget an engine registered with ``register``."""
    registered.pop(name, None)


def engine_class(name: str) -> type[Engine]:
    """The class behind an engine name, importing only that engine's module."""
    if name in registered:
        return registered[name]
    entry = entry_points().get(name)
    if entry is None:
        available = ", ".join(engine_names() + [AUTO])
        raise EngineUnavailable(f"unknown engine {name!r}; available: {available}")
    try:
        loaded = entry.load()
    except Exception as error:  # a broken plugin must not take reviewpub down with it
        raise EngineUnavailable(f"engine {name!r} failed to load ({error}); reinstall it or pick another") from error
    if not (isinstance(loaded, type) and issubclass(loaded, Engine)):
        raise EngineUnavailable(f"engine {name!r} ({entry.value}) is not a reviewpub Engine")
    return loaded


def load_engine(name: str, **options: Any) -> Engine:
    """An engine by name, built with the options it accepts.

    Raises:
        EngineUnavailable: no engine has that name, or it cannot load.
        SettingsError: an option does not apply to that engine (e.g. ``--tld`` for espeak).
    """
    chosen = engine_class(name)
    accepted = set(inspect.signature(chosen.__init__).parameters) - {"self", "args", "kwargs"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        names = ", ".join(f"--{option.replace('_', '-')}" for option in unknown)
        raise SettingsError(f"{names}: not an option of the {name} engine")
    return chosen(**options)


def choose_engine(name: str, **options: Any) -> Engine:
    """The engine for a whole build; ``auto`` is gTTS if one short probe succeeds, else eSpeak NG."""
    if name != AUTO:
        return load_engine(name, **options)
    google_options = {key: value for key, value in options.items() if key in ("tld", "slow", "session")}
    try:
        probe = load_engine("gtts", attempts=1, **google_options)
        probe.synthesize(PROBE_TEXT, voice=probe.default_voice)
        google = load_engine("gtts", **google_options)
    except EngineError as error:
        logger.info("engine auto: gTTS is not reachable (%s); using eSpeak NG, offline", error)
        return load_engine("espeak", **{key: value for key, value in options.items() if key in ("rate", "pitch")})
    logger.info("engine auto: using gTTS (the text is sent to Google)")
    return google
