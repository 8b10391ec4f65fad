"""The Ray driver process: it joins the cluster, keeps the synthesis actors busy and sends clips back.

``ray_executor`` starts it as a child of the ``reviewpub`` process (Ray's client state stays out
of the process that writes the files) and talks to it over a pipe. Each actor
(``ClipSynthesizer``) is one synthesis process holding one core, or one GPU with ``--device
cuda``; batches of a chapter's spoken sentences go out, trimmed PCM comes back.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from reviewpub.errors import EngineUnavailable, ReviewpubError
from reviewpub.narration.cache import CachedClip, NarrationCache

if TYPE_CHECKING:
    from reviewpub.engines.base import Engine
    from reviewpub.narration.plan import ChapterJob

logger = logging.getLogger(__name__)

INSTALL_HINT = "Ray is not installed: pip install 'reviewpub[ray]'"

NAMESPACE = "reviewpub"
"""Ray namespace of reviewpub's actors, so a test or an operator can find them by name."""

ACTOR_NAME_PREFIX = "reviewpub-synthesizer"

BATCH_SENTENCES = 8
"""Most sentences per call. Measured on the seed review with eSpeak NG (where synthesis costs
nearly nothing, so the call itself shows): the driver spent 0.046 CPU s per minute of audio
with one sentence per call and 0.032 s with 8 (32: 0.031 s), against the 6.1 CPU s a Piper
actor spends on that minute. Bigger batches gain nothing more and lose more work when an
actor dies; a short review gets smaller ones (``batch_size``) so that every actor has some."""

CALLS_IN_FLIGHT_PER_ACTOR = 2
"""A second batch queued behind the running one, so an actor never waits for the driver."""

MAX_RESTARTS = 3
"""A killed actor is started again (and its pending batches retried) this many times."""

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

    Plain class (made remote by ``SynthesizerPool``), so this module imports without Ray. Loaded voices
    stay in the process between calls (Piper keeps its sessions per process), so the first
    batch pays for loading the voice and the others do not.
    """

    def pid(self) -> int:
        """This actor's process id (for operators and the fault tests)."""
        return os.getpid()

    def ready(self, device: str) -> str | None:
        """None when this node can synthesise on ``device``; else the reason, one line."""
        if device == "cuda":
            from reviewpub.engines.piper_runtime import check_cuda

            try:
                check_cuda()
            except ReviewpubError as error:
                return f"{socket.gethostname()}: {error}"
        return None

    def synthesize(
        self, engine: Engine, voice: str, batch: Sequence[tuple[str, str]]
    ) -> tuple[list[tuple[str, bytes, int] | tuple[str, ReviewpubError, int]], float]:
        """Speak each ``(clip key, spoken text)`` and trim its silence, as a local worker would.

        Returns the clips and the CPU seconds this process spent on them (the cost model's
        worker side). An engine error is returned in place of its clip (the driver names the
        chapter and sentence); anything else is a bug and raises.
        """
        from reviewpub.narration import pcm

        started_cpu_s = time.process_time()
        results: list[tuple[str, bytes, int] | tuple[str, ReviewpubError, int]] = []
        for key, spoken in batch:
            try:
                speech = engine.synthesize(spoken, voice=voice)
            except ReviewpubError as error:
                results.append((key, error, 0))
                break
            results.append((key, pcm.trim_silence(speech.samples, speech.sample_rate), speech.sample_rate))
        return results, time.process_time() - started_cpu_s


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


@dataclass
class Traffic:
    """What crossed the network for a run, to show what distribution costs per minute of audio."""

    sent_bytes: int = 0
    """Spoken text and clip keys sent to the actors (UTF-8)."""
    received_bytes: int = 0
    """PCM received."""
    audio_s: float = 0.0
    clips: int = 0
    driver_cpu_s: float = 0.0
    """CPU seconds of the Ray driver process (the reviewpub process's own are logged by narrate)."""
    worker_cpu_s: float = 0.0
    """CPU seconds the actors spent synthesising."""


def run_driver(connection: Any, address: str, device: str, log_path: Path) -> None:
    """The Ray driver process: join, then synthesise what each ``fill`` asks and store it in the cache."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the reviewpub process's to handle
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with a killed reviewpub
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)  # Ray's C++ core logs to stderr; the user gets one line from the reviewpub process
    import ray

    send_token_if_any()
    try:
        ray.init(
            address=address,
            namespace=NAMESPACE,
            logging_level=logging.WARNING,
            log_to_driver=False,
            configure_logging=False,
        )
        resources = ray.cluster_resources()
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as error:
        connection.send(("failed", f"--ray-address {address}: cannot join the Ray cluster there ({first_line(error)})"))
        return
    cpus, gpus = int(resources.get("CPU", 0)), int(resources.get("GPU", 0))
    if device == "cuda" and gpus < 1:
        connection.send(
            (
                "failed",
                f"--device cuda: the Ray cluster at {address} has no GPU; use --device cpu or "
                "add a node with an NVIDIA GPU",
            )
        )
        return
    if cpus < 1:
        connection.send(("failed", f"--ray-address {address}: the Ray cluster has no CPU to run on"))
        return
    connection.send(("joined", cpus, gpus))
    pool = SynthesizerPool(ray, address, device, gpus if device == "cuda" else cpus)
    while True:
        try:
            command = connection.recv()
        except EOFError:
            return
        _, engine, voice, batches, cache_dir = command
        pool.fill(connection, engine, voice, batches, NarrationCache(Path(cache_dir)))


@dataclass
class SynthesizerPool:
    """The actors, in the driver process: started on first use, kept for every review."""

    ray: Any
    address: str
    device: str
    size: int
    """Actors to start: one per CPU (one per GPU with ``--device cuda``)."""
    actors: list[Any] = field(default_factory=list)
    traffic: Traffic = field(default_factory=Traffic)

    def start_actors(self) -> str | None:
        """Start the actors (named, so operators can find them); None once each says it can work, else why not."""
        if self.actors:
            return None
        ray = self.ray
        # "control" answers pid() and ready() while a batch is being spoken (one thread speaks).
        remote = ray.remote(concurrency_groups={"control": 1})(ClipSynthesizer)
        resources = {"num_cpus": 1, "num_gpus": 1} if self.device == "cuda" else {"num_cpus": 1}
        run = f"{ACTOR_NAME_PREFIX}-{socket.gethostname()}-{os.getppid()}"
        self.actors = [
            remote.options(
                name=f"{run}-{index}",
                namespace=NAMESPACE,
                max_restarts=MAX_RESTARTS,
                max_task_retries=MAX_RESTARTS,
                **resources,
            ).remote()
            for index in range(self.size)
        ]
        try:
            problems = ray.get(
                [actor.ready.options(concurrency_group="control").remote(self.device) for actor in self.actors],
                timeout=STALL_TIMEOUT_S,
            )
        except ray.exceptions.RayError as error:
            self.actors = []
            return (
                f"--ray-address {self.address}: the cluster could not start reviewpub's synthesizer "
                f"({first_line(error)}); is reviewpub installed on every node?"
            )
        return next((problem for problem in problems if problem), None)

    def fill(
        self, connection: Any, engine: Engine, voice: str, batches: list[list[tuple[str, str]]], cache: NarrationCache
    ) -> None:
        """Send ``batches`` to the actors, a few in flight each; store and announce every clip as it comes."""
        ray = self.ray
        problem = self.start_actors()
        if problem:
            connection.send(("failed", problem))
            return
        engine_ref = ray.put(engine)  # travels once per review; each actor loads its voice once
        queue = deque(batches)
        in_flight: dict[Any, Any] = {}

        def submit(actor: Any) -> None:
            batch = queue.popleft()
            self.traffic.sent_bytes += sum(len(key) + len(spoken.encode("utf-8")) for key, spoken in batch)
            in_flight[actor.synthesize.remote(engine_ref, voice, batch)] = actor

        try:
            for _ in range(CALLS_IN_FLIGHT_PER_ACTOR):
                for actor in self.actors:
                    if queue:
                        submit(actor)
            while in_flight:
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=STALL_TIMEOUT_S)
                if not done:
                    raise ray.exceptions.GetTimeoutError(f"no batch finished in {STALL_TIMEOUT_S:.0f} s")
                actor = in_flight.pop(done[0])
                clips, worker_cpu_s = ray.get(done[0])
                self.traffic.worker_cpu_s += worker_cpu_s
                for key, outcome, rate in clips:
                    if isinstance(outcome, ReviewpubError):
                        connection.send(("engine-error", key, outcome))
                        return
                    cache.put_clip(key, CachedClip(outcome, rate))
                    audio_s = len(outcome) / 2 / rate
                    self.traffic.received_bytes += len(outcome)
                    self.traffic.audio_s += audio_s
                    self.traffic.clips += 1
                    connection.send(("clip", key, audio_s))
                if queue:
                    submit(actor)
        except ray.exceptions.RayError as error:
            connection.send(("cluster-error", f"{type(error).__name__}: {first_line(error)}"))
            return
        except ReviewpubError as error:  # the cache could not be written
            connection.send(("failed", str(error)))
            return
        finally:
            for pending in in_flight:
                ray.cancel(pending)
        self.traffic.driver_cpu_s = time.process_time()
        connection.send(("done", self.traffic))


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


def batch_size(clips: int, actors: int) -> int:
    """Sentences per call: up to ``BATCH_SENTENCES``, fewer when that would leave actors idle."""
    return max(1, min(BATCH_SENTENCES, clips // max(1, actors * CALLS_IN_FLIGHT_PER_ACTOR)))


def make_batches(
    wanted: dict[str, tuple[ChapterJob, int, str]], size: int = BATCH_SENTENCES
) -> list[list[tuple[str, str]]]:
    """Batches of up to ``size`` ``(key, spoken)``, never across chapters (a failure names one)."""
    batches: list[list[tuple[str, str]]] = []
    current_chapter = None
    for key, (job, _, spoken) in wanted.items():
        if job.number != current_chapter or len(batches[-1]) >= size:
            batches.append([])
            current_chapter = job.number
        batches[-1].append((key, spoken))
    return batches


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message, short enough for a one-line report."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]
