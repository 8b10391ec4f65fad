"""Engine registry: names come from ``reviewpub.engines`` entry points, loaded only when chosen.

Built-in engines are registered in our own pyproject.toml like any third-party engine, so a
plugin needs nothing but an entry point (MkDocs' plugins, HTTPie's plugin manager). Listing
names never imports an engine module; a broken third-party engine is a warning in listings
and an error only when it is the one asked for. A built-in engine, once asked for by name,
is found without reading any package's metadata (``BUILT_IN_ENGINES``).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from typing import TYPE_CHECKING, Any

from reviewpub.engines.base import Engine, Speech, Voice, WordMark
from reviewpub.errors import EngineError, EngineUnavailable, SettingsError

if TYPE_CHECKING:
    from importlib import metadata

__all__ = [
    "Engine",
    "Speech",
    "Voice",
    "WordMark",
    "choose_engine",
    "engine_classes",
    "engine_names",
    "load_engine",
    "register",
    "unregister",
]

logger = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "reviewpub.engines"
AUTO = "auto"
ONLINE_ENGINE = "gtts"
OFFLINE_ENGINE = "espeak"
PROBE_TEXT = "Hello."
"""What ``--engine auto`` asks gTTS to say once, to learn whether Google answers."""
BUILT_IN_ENGINES = {
    "piper": "reviewpub.engines.piper:PiperEngine",
    "espeak": "reviewpub.engines.espeak:EspeakEngine",
    "gtts": "reviewpub.engines.google:GoogleEngine",
}
"""reviewpub's own entry points, word for word as pyproject.toml declares them (a test keeps the two
the same). Asking for one of these skips importing ``importlib.metadata`` and scanning every
installed package's metadata: about 18 ms before the first sentence of every narrated run.
So a plugin cannot take a built-in engine's name."""
registered: dict[str, type[Engine]] = {}
"""Engines registered at run time (tests, embedding applications); they win over entry points."""


def entry_points() -> dict[str, metadata.EntryPoint]:
    """The installed engine entry points by name (metadata only: nothing is imported)."""
    from importlib import metadata

    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def engine_names() -> list[str]:
    """Every engine name ``--engine`` accepts (``auto`` aside), without importing any engine."""
    return sorted(set(entry_points()) | set(registered))


def register(name: str, engine_class: type[Engine]) -> None:
    """Make ``engine_class`` available as ``--engine name`` (tests, plugins loaded by hand)."""
    if not (isinstance(engine_class, type) and issubclass(engine_class, Engine)):
        raise TypeError(f"{engine_class!r} is not a reviewpub Engine subclass")
    registered[name] = engine_class


def unregister(name: str) -> None:
    """Forget an engine registered with ``register``."""
    registered.pop(name, None)


def available_text() -> str:
    """``espeak, gtts, auto``: what an unknown-engine error offers."""
    return ", ".join([*engine_names(), AUTO])


def engine_class(name: str) -> type[Engine]:
    """The class behind an engine name, importing only that engine's module.

    Raises:
        EngineUnavailable: no engine has that name, or its module fails to import, or the
            entry point names something that is not an Engine.
    """
    if name in registered:
        return registered[name]
    if name == AUTO:
        raise EngineUnavailable(
            f"engine 'auto' is chosen when a build starts; name one of: {', '.join(engine_names())}"
        )
    target, entry = BUILT_IN_ENGINES.get(name), None
    if target is None:
        entry = entry_points().get(name)
        if entry is None:
            raise EngineUnavailable(f"unknown engine {name!r}; available: {available_text()} (reviewpub voices)")
        target = entry.value
    try:
        loaded = entry.load() if entry is not None else load_built_in(target)
    except Exception as error:  # any import-time failure of a plugin; it must not take reviewpub down
        raise EngineUnavailable(
            f"engine {name!r} ({target}) failed to load: {type(error).__name__}: {error}; reinstall it or pick another"
        ) from error
    if not (isinstance(loaded, type) and issubclass(loaded, Engine)):
        raise EngineUnavailable(f"engine {name!r} ({target}) is not a reviewpub Engine; pick another")
    return loaded


def load_built_in(target: str) -> Any:
    """The class a ``BUILT_IN_ENGINES`` value (``module:Class``) names, importing only its module."""
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def engine_classes() -> dict[str, type[Engine]]:
    """Every engine that loads, by name; broken ones are logged as warnings and left out.

    For listings (``reviewpub voices``), where one bad plugin must not hide the others.
    """
    loaded: dict[str, type[Engine]] = {}
    for name in engine_names():
        try:
            loaded[name] = engine_class(name)
        except EngineUnavailable as error:
            logger.warning("%s", error)
    return loaded


def accepted_options(engine: type[Engine]) -> frozenset[str] | None:
    """The keyword arguments the engine's constructor takes; None when it takes any (``**kwargs``)."""
    parameters = inspect.signature(engine.__init__).parameters.values()
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return frozenset(
        parameter.name
        for parameter in parameters
        if parameter.name != "self"
        and parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def load_engine(name: str, **options: Any) -> Engine:
    """An engine by name, built with the options it accepts (its constructor's keywords).

    Raises:
        EngineUnavailable: no engine has that name, or it cannot load.
        SettingsError: an option does not apply to that engine (e.g. ``--tld`` for espeak).
    """
    chosen = engine_class(name)
    accepted = accepted_options(chosen)
    unknown = sorted(set(options) - accepted) if accepted is not None else []
    if unknown:
        names = ", ".join(f"--{option.replace('_', '-')}" for option in unknown)
        flags = sorted(set(accepted or ()) - chosen.programmatic_options)
        offered = ", ".join(f"--{option.replace('_', '-')}" for option in flags) or "none"
        raise SettingsError(f"{names}: not an option of the {name} engine (its options: {offered})")
    return chosen(**options)


def options_for(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``options`` that engine ``name`` takes."""
    accepted = accepted_options(engine_class(name))
    return {key: value for key, value in options.items() if accepted is None or key in accepted}


def log_choice(name: str, options: dict[str, Any], kept: dict[str, Any], reason: str) -> None:
    """Say which engine ``auto`` chose and why, and which options it had to ignore."""
    logger.info("engine auto: %s", reason)
    ignored = sorted(set(options) - set(kept))
    if ignored:
        flags = ", ".join(f"--{key.replace('_', '-')}" for key in ignored)
        logger.info("engine auto: %s not options of %s; ignored", flags, name)


def choose_engine(name: str, **options: Any) -> Engine:
    """The engine for a whole build; ``auto`` is gTTS if one short probe succeeds, else eSpeak NG.

    The choice is made once and logged (INFO); the build never switches engine half-way, so
    a book is read by one voice throughout. Options that do not apply to the chosen engine
    are ignored for ``auto`` (it cannot know in advance) and refused otherwise.

    Raises:
        EngineUnavailable, SettingsError: as ``load_engine``.
    """
    if name != AUTO:
        return load_engine(name, **options)
    try:
        online_options = options_for(ONLINE_ENGINE, options)
        probe = load_engine(ONLINE_ENGINE, **{**online_options, "attempts": 1})
        probe.synthesize(PROBE_TEXT, voice=probe.default_voice)
        online = load_engine(ONLINE_ENGINE, **online_options)
    except EngineError as error:
        offline_options = options_for(OFFLINE_ENGINE, options)
        log_choice(OFFLINE_ENGINE, options, offline_options, f"gTTS is not usable ({error}); using eSpeak NG, offline")
        return load_engine(OFFLINE_ENGINE, **offline_options)
    log_choice(ONLINE_ENGINE, options, online_options, "Google answered; using gTTS (the text is sent to Google)")
    return online
