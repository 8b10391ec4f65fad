"""Narration on a Ray cluster: actors synthesise the clips the cache lacks; the driver does the rest.

The driver (the ``reviewpub`` process) plans, keeps the cache and writes every file, exactly as
a local build does. What travels is the cheapest thing that still keeps the workers busy:
batches of a chapter's sentences go out as spoken text (tens of bytes each), and each comes back
as its trimmed PCM and sample rate, which the driver stores in the cache as it arrives. Chapters
are then assembled and levelled by the same ``narrate_chapter`` a local build runs, with every
clip already cached, so a Ray build is byte-identical to a local one by construction, and the
two share the cache both ways.

Each actor is one synthesis process holding one core (or one GPU with ``--device cuda``): it
loads the voice once and keeps it for every batch of the run. Actors are restarted when they
die and their pending batches retried (``max_restarts``, ``max_task_retries``); since every
finished clip is already in the driver's cache, an interrupted or killed driver resumes like a
local build. A cluster that cannot be reached, or that stops answering, is one line.

Ray is an optional extra (``pip install 'reviewpub[ray]'``) and imported only here, lazily.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from reviewpub.errors import EngineError, EngineUnavailable, ReviewpubError, SettingsError
from reviewpub.narration.cache import CachedClip, NarrationCache

if TYPE_CHECKING:
    from reviewpub.engines.base import Engine
    from reviewpub.narration import ChapterJob
    from reviewpub.progress import Progress

logger = logging.getLogger(__name__)

INSTALL_HINT = "Ray is not installed: pip install 'reviewpub[ray]'"
NO_ADDRESS_HINT = ("--executor ray needs a running Ray cluster: start one with `ray start --head`, then give "
                   "--ray-address auto (or the address it printed, or set RAY_ADDRESS)")
NAMESPACE = "reviewpub"
"""Ray namespace of reviewpub's actors, so a test or an operator can find them by name."""
ACTOR_NAME_PREFIX = "reviewpub-synthesizer"
BATCH_SENTENCES = 8
"""Sentences per call: one call costs the driver about as much as a few sentences' cache
writes, so batches of 8 keep the driver's CPU per minute of audio low while a chapter still
splits over several actors (README "Scaling out" has the measurement)."""
CALLS_IN_FLIGHT_PER_ACTOR = 2
"""A second batch queued behind the running one, so an actor never waits for the driver."""
MAX_RESTARTS = 3
"""A killed actor is started again (and its pending batches retried) this many times."""
CONNECT_TIMEOUT_S = 5.0
"""How long the cluster's address may take to accept a TCP connection. ray.init itself retries
an unreachable address for minutes, so the address is probed first."""
STALL_TIMEOUT_S = 300.0
"""No batch finished for this long: the cluster is taken as gone (a batch of 8 Piper sentences
takes seconds; a restarted actor reloads its voice in about one)."""


def import_ray() -> ModuleType:
    """The ``ray`` module, or one line saying how to install it.

    Raises:
        EngineUnavailable: ray is not importable here.
    """
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(INSTALL_HINT) from None
    return ray


class ClipSynthesizer:
    """A Ray actor's body: one process that speaks batches of sentences with the engine it is sent.

    Plain class (made remote by ``connect``), so this module imports without Ray. Loaded voices
    stay in the process between calls (Piper keeps its sessions per process), so the first
    batch pays for loading the voice and the others do not.
    """

    def pid(self) -> int:
        """This actor's process id (for operators and the fault tests)."""
        return os.getpid()

    def ready(self, device: str) -> str | None:
        """None when this node can synthesise on ``device``; else the reason, one line."""
        if device == "cuda":
            from reviewpub.engines.piper import check_cuda

            try:
                check_cuda()
            except ReviewpubError as error:
                return f"{socket.gethostname()}: {error}"
        return None

    def synthesize(self, engine: Engine, voice: str,
                   batch: Sequence[tuple[str, str]]) -> list[tuple[str, bytes, int] | tuple[str, ReviewpubError, int]]:
        """Speak each ``(clip key, spoken text)`` and trim its silence, as a local worker would.

        An engine error is returned in place of its clip (the driver names the chapter and
        sentence); anything else is a bug and raises.
        """
        from reviewpub.narration import audio as chapter_audio

        results: list[tuple[str, bytes, int] | tuple[str, ReviewpubError, int]] = []
        for key, spoken in batch:
            try:
                speech = engine.synthesize(spoken, voice=voice)
            except ReviewpubError as error:
                results.append((key, error, 0))
                break
            results.append((key, chapter_audio.trim_silence(speech.samples, speech.sample_rate), speech.sample_rate))
        return results


def bootstrap_address(ray: ModuleType, address: str) -> str:
    """``host:port`` of the cluster's GCS for ``address`` (``auto`` reads the local cluster file).

    Raises:
        EngineUnavailable: ``auto`` and no cluster was started on this machine.
        SettingsError: the address is not HOST:PORT.
    """
    if address.startswith("ray://"):
        return address[len("ray://"):]
    try:
        from ray._private.services import canonicalize_bootstrap_address_or_die
        return str(canonicalize_bootstrap_address_or_die(address))
    except ConnectionError:
        raise EngineUnavailable(f"--ray-address {address}: no Ray cluster is running on this machine; "
                                "start one with `ray start --head`, or give its address") from None
    except ValueError:
        raise SettingsError(f"--ray-address {address}: give HOST:PORT (as `ray start --head` prints it) or auto") from None


def probe(address: str, host_port: str) -> None:
    """Refuse quickly an address nothing listens on (ray.init would retry it for minutes).

    Raises:
        SettingsError: the address is not HOST:PORT.
        EngineUnavailable: nothing accepts a connection there.
    """
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise SettingsError(f"--ray-address {address}: give HOST:PORT (as `ray start --head` prints it) or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise EngineUnavailable(f"--ray-address {address}: cannot reach a Ray cluster there ({reason}); "
                                "start one with `ray start --head` or check the address") from None


def send_token_if_any() -> None:
    """Use token authentication when this machine has a Ray token and the user chose no mode.

    Ray 2.60 clusters started where a token exists (``~/.ray/auth_token``) require it, and the
    ``ray`` commands send it; ``ray.init(address=...)`` alone does not, so do as they do.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication
        return
    # It logs a warning meant for whoever starts a cluster; joining one, the user needs no news.
    setup_logger = logging.getLogger(maybe_enable_token_auth_if_token_available.__module__)
    level = setup_logger.level
    setup_logger.setLevel(logging.ERROR)
    try:
        maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    finally:
        setup_logger.setLevel(level)


def connect(address: str | None, *, device: str = "cpu") -> RayExecutor:
    """Join the running cluster at ``address`` (``auto``: the one started on this machine).

    Nothing starts a private local cluster: without an address this is one line saying how to
    start one.

    Raises:
        EngineUnavailable: Ray is not installed, no address was given, the cluster cannot be
            reached, or (``device`` cuda) it has no GPU.
    """
    ray = import_ray()
    if not address:
        raise EngineUnavailable(NO_ADDRESS_HINT)
    if (address, device) in JOINED:
        return JOINED[address, device]
    probe(address, bootstrap_address(ray, address))
    if not ray.is_initialized():
        send_token_if_any()
        try:
            # The driver's own logs stay quiet; actor errors come back as values or exceptions.
            ray.init(address=address, namespace=NAMESPACE, logging_level=logging.WARNING, log_to_driver=False,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ray.exceptions.RayError) as error:
            raise EngineUnavailable(f"--ray-address {address}: cannot join the Ray cluster there "
                                    f"({first_line(error)})") from None
    resources = ray.cluster_resources()
    cpus, gpus = int(resources.get("CPU", 0)), int(resources.get("GPU", 0))
    if device == "cuda" and gpus < 1:
        raise EngineUnavailable(f"--device cuda: the Ray cluster at {address} has no GPU; use --device cpu "
                                "or add a node with an NVIDIA GPU")
    actors = gpus if device == "cuda" else cpus
    if actors < 1:
        raise EngineUnavailable(f"--ray-address {address}: the Ray cluster has no CPU to run on")
    logger.debug("ray: joined %s: %d CPUs, %d GPUs; %d synthesizer actors", address, cpus, gpus, actors)
    executor = JOINED[address, device] = RayExecutor(ray, address, device, actors)
    return executor


JOINED: dict[tuple[str, str], RayExecutor] = {}
"""The executor of each cluster this process joined: every review of a folder shares its actors
(and their loaded voices)."""


@dataclass
class Traffic:
    """What crossed the network for a run, to show what distribution costs per minute of audio."""

    sent_bytes: int = 0
    """Spoken text and clip keys sent to the actors (UTF-8)."""
    received_bytes: int = 0
    """PCM received."""
    audio_s: float = 0.0
    clips: int = 0


@dataclass
class RayExecutor:
    """A pool of synthesizer actors on a cluster, made on first use and kept for every review."""

    ray: Any
    address: str
    device: str
    size: int
    """Actors to start: one per CPU (one per GPU with ``--device cuda``)."""
    actors: list[Any] = field(default_factory=list)
    traffic: Traffic = field(default_factory=Traffic)

    def start_actors(self) -> list[Any]:
        """Start the actors (named, so operators can find them) and wait until each says it can work.

        Raises:
            EngineUnavailable: an actor could not start (reviewpub missing on a node, no CUDA there).
        """
        if self.actors:
            return self.actors
        ray = self.ray
        # "control" answers pid() and ready() while a batch is being spoken (one thread speaks).
        remote = ray.remote(concurrency_groups={"control": 1})(ClipSynthesizer)
        resources = {"num_cpus": 1, "num_gpus": 1} if self.device == "cuda" else {"num_cpus": 1}
        run = f"{ACTOR_NAME_PREFIX}-{socket.gethostname()}-{os.getpid()}"
        self.actors = [
            remote.options(name=f"{run}-{index}", namespace=NAMESPACE, max_restarts=MAX_RESTARTS,
                           max_task_retries=MAX_RESTARTS, **resources).remote()
            for index in range(self.size)
        ]
        try:
            problems = ray.get([actor.ready.options(concurrency_group="control").remote(self.device)
                                for actor in self.actors], timeout=STALL_TIMEOUT_S)
        except ray.exceptions.RayError as error:
            raise EngineUnavailable(f"--ray-address {self.address}: the cluster could not start reviewpub's "
                                    f"synthesizer ({first_line(error)}); is reviewpub installed on every node?") from None
        for problem in problems:
            if problem:
                raise EngineUnavailable(problem)
        return self.actors

    def fill_cache(self, jobs: Sequence[ChapterJob], progress: Progress) -> int:
        """Synthesise on the cluster every clip of ``jobs`` the cache lacks, storing each as it arrives.

        Chapters whose assembled audio is already cached are skipped. Returns how many clips were made.

        Raises:
            EngineError: the engine failed on a sentence (named), or the cluster stopped answering
                (the clips made so far stay in the cache).
        """
        if not jobs:
            return 0
        cache = NarrationCache(jobs[0].cache_dir)
        wanted = missing_clips(jobs, cache)
        if not wanted:
            return 0
        ray = self.ray
        actors = self.start_actors()
        first = jobs[0]
        # The engine travels once per run, to the object store; each actor then loads its voice once.
        engine = ray.put(first.engine.for_workers(os.cpu_count() or 1) if self.device != "cuda" else first.engine)
        batches = deque(make_batches(wanted))
        where = {key: (job, index) for key, (job, index, _) in wanted.items()}
        progress.start(len(wanted), "Synthesising on Ray")
        in_flight: dict[Any, tuple[Any, list[tuple[str, str]]]] = {}

        def submit(actor: Any) -> None:
            batch = batches.popleft()
            self.traffic.sent_bytes += sum(len(key) + len(spoken.encode("utf-8")) for key, spoken in batch)
            in_flight[actor.synthesize.remote(engine, first.voice, batch)] = (actor, batch)

        made = 0
        try:
            for _ in range(CALLS_IN_FLIGHT_PER_ACTOR):
                for actor in actors:
                    if batches:
                        submit(actor)
            while in_flight:
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=STALL_TIMEOUT_S)
                if not done:
                    raise ray.exceptions.GetTimeoutError(f"no batch finished in {STALL_TIMEOUT_S:.0f} s")
                actor, _batch = in_flight.pop(done[0])
                for key, outcome, rate in ray.get(done[0]):
                    job, index = where[key]
                    if isinstance(outcome, ReviewpubError):
                        from reviewpub.narration import engine_failure

                        raise engine_failure(job, index, outcome)
                    cache.put_clip(key, CachedClip(outcome, rate))
                    made += 1
                    audio_s = len(outcome) / 2 / rate
                    self.traffic.received_bytes += len(outcome)
                    self.traffic.audio_s += audio_s
                    self.traffic.clips += 1
                    progress.advance(1, job.title, audio_s=audio_s)
                if batches:
                    submit(actor)
        except ray.exceptions.RayError as error:
            raise EngineError(f"--ray-address {self.address}: the Ray cluster stopped answering "
                              f"({type(error).__name__}: {first_line(error)}); the {made} sentences synthesised "
                              "so far are kept in the cache: run again to resume") from None
        finally:
            progress.finish()
            for pending in in_flight:
                ray.cancel(pending, force=False)
        # The bench reads this line (totals for the whole process, every review so far).
        logger.debug("ray: %d clips, %d bytes sent, %d bytes received, %.2f min of audio", self.traffic.clips,
                     self.traffic.sent_bytes, self.traffic.received_bytes, self.traffic.audio_s / 60)
        return made

    def close(self) -> None:
        """Stop the actors and leave the cluster (the cluster itself keeps running)."""
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # already gone with its cluster: nothing left to stop
                logger.debug("ray: actor already gone")
        self.actors = []
        self.ray.shutdown()


def missing_clips(jobs: Sequence[ChapterJob], cache: NarrationCache) -> dict[str, tuple[ChapterJob, int, str]]:
    """clip key → (its chapter, 1-based sentence, spoken text) for every clip not in the cache, in reading order.

    Presence is checked by path only: a damaged entry is found (and made again, locally) when the
    chapter is assembled, which is rare and cheaper than reading every clip twice.
    """
    wanted: dict[str, tuple[ChapterJob, int, str]] = {}
    for job in jobs:
        if cache.chapter_paths(job.chapter_key)[1].is_file():
            continue
        for index, line in enumerate(job.lines, start=1):
            key = line.clip_key
            if key is not None and key not in wanted and not cache.clip_path(key).is_file():
                wanted[key] = (job, index, line.spoken)
    return wanted


def make_batches(wanted: dict[str, tuple[ChapterJob, int, str]]) -> list[list[tuple[str, str]]]:
    """Batches of up to ``BATCH_SENTENCES`` ``(key, spoken)``, never across chapters (a failure names one)."""
    batches: list[list[tuple[str, str]]] = []
    current_chapter = None
    for key, (job, _, spoken) in wanted.items():
        if job.number != current_chapter or len(batches[-1]) >= BATCH_SENTENCES:
            batches.append([])
            current_chapter = job.number
        batches[-1].append((key, spoken))
    return batches


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message, short enough for a one-line report."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]
