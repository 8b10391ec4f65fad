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

import atexit
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from reviewpub.errors import EngineError, EngineUnavailable, ReviewpubError, SettingsError
from reviewpub.narration.cache import CachedClip, NarrationCache

if TYPE_CHECKING:
    from reviewpub.engines.base import Engine
    from reviewpub.narration.plan import ChapterJob
    from reviewpub.progress import Progress

logger = logging.getLogger(__name__)

INSTALL_HINT = "Ray is not installed: pip install 'reviewpub[ray]'"
NO_ADDRESS_HINT = (
    "--executor ray needs a running Ray cluster: start one with `ray start --head`, then give "
    "--ray-address auto (or the address it printed, or set RAY_ADDRESS)"
)
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
CONNECT_TIMEOUT_S = 5.0
"""How long the cluster's address may take to accept a TCP connection. ray.init itself retries
an unreachable address for minutes, so the address is probed first."""
STALL_TIMEOUT_S = 300.0
"""No batch finished for this long: the cluster is taken as gone (a batch of 8 Piper sentences
takes seconds; a restarted actor reloads its voice in about one)."""
POLL_SECONDS = 0.5
"""How often the reviewpub process checks that the Ray driver process is still alive while it waits."""


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
            from reviewpub.engines.piper import check_cuda

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


def bootstrap_address(ray: ModuleType, address: str) -> str:
    """``host:port`` of the cluster's GCS for ``address`` (``auto`` reads the local cluster file).

    Raises:
        EngineUnavailable: ``auto`` and no cluster was started on this machine.
        SettingsError: the address is not HOST:PORT.
    """
    if address.startswith("ray://"):
        return address[len("ray://") :]
    try:
        from ray._private.services import canonicalize_bootstrap_address_or_die

        return str(canonicalize_bootstrap_address_or_die(address))
    except ConnectionError:
        raise EngineUnavailable(
            f"--ray-address {address}: no Ray cluster is running on this machine; "
            "start one with `ray start --head`, or give its address"
        ) from None
    except ValueError:
        raise SettingsError(
            f"--ray-address {address}: give HOST:PORT (as `ray start --head` prints it) or auto"
        ) from None


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
        raise EngineUnavailable(
            f"--ray-address {address}: cannot reach a Ray cluster there ({reason}); "
            "start one with `ray start --head` or check the address"
        ) from None


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
    start one. The Ray driver runs in a child process (see ``RayExecutor``).

    Raises:
        EngineUnavailable: Ray is not installed, no address was given, the cluster cannot be
            reached, or (``device`` cuda) it has no GPU.
        SettingsError: the address is not HOST:PORT or auto.
    """
    ray = import_ray()
    if not address:
        raise EngineUnavailable(NO_ADDRESS_HINT)
    if (address, device) in JOINED and JOINED[address, device].process.is_alive():
        return JOINED[address, device]
    probe(address, bootstrap_address(ray, address))
    executor = RayExecutor.start(address, device)
    JOINED[address, device] = executor
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
    driver_cpu_s: float = 0.0
    """CPU seconds of the Ray driver process (the reviewpub process's own are logged by narrate)."""
    worker_cpu_s: float = 0.0
    """CPU seconds the actors spent synthesising."""


@dataclass
class RayExecutor:
    """The reviewpub side of a Ray driver that runs in a child process.

    Ray ends its driver's process at once (no Python exception) when the cluster it joined
    disappears; in a child, that is an end of file here, reported in one line with the clips
    made so far kept, instead of a silent exit. The child also keeps Ray's own logging out of
    the terminal (it goes to ``log_path``). It stores each clip in the cache as it arrives and
    tells this process, which shows progress.
    """

    address: str
    device: str
    process: Any
    connection: Any
    log_path: Path
    cpus: int = 0
    gpus: int = 0
    traffic: Traffic = field(default_factory=Traffic)
    keeps_log: bool = False
    """True once an error message pointed the user at ``log_path``."""

    @classmethod
    def start(cls, address: str, device: str) -> RayExecutor:
        """Start the driver process and join the cluster.

        Raises:
            EngineUnavailable: the cluster refused or has no CPU (or no GPU for cuda).
        """
        context: multiprocessing.context.ForkContext | multiprocessing.context.SpawnContext
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
        else:
            context = multiprocessing.get_context("spawn")
        log_path = Path(tempfile.gettempdir()) / f"reviewpub-ray-{os.getpid()}.log"
        ours, theirs = context.Pipe()
        process = context.Process(
            target=run_driver, args=(theirs, address, device, log_path), daemon=True, name="reviewpub-ray-driver"
        )
        process.start()
        theirs.close()
        executor = cls(address, device, process, ours, log_path)
        atexit.register(executor.remove_log)
        kind, *details = executor.receive()
        if kind == "failed":
            executor.close()
            raise EngineUnavailable(str(details[0]))
        executor.cpus, executor.gpus = details
        logger.debug(
            "ray: joined %s: %d CPUs, %d GPUs (driver log: %s)", address, executor.cpus, executor.gpus, log_path
        )
        return executor

    def receive(self, made: int = 0) -> tuple[Any, ...]:
        """The driver process's next message.

        Raises:
            EngineError: the driver process ended (Ray ends it when the cluster disappears).
        """
        while not self.connection.poll(POLL_SECONDS):
            if not self.process.is_alive() and not self.connection.poll(0):
                break
        try:
            message: tuple[Any, ...] = self.connection.recv()
            return message
        except (EOFError, OSError):
            pass
        self.process.join(timeout=5)
        self.keeps_log = True
        raise EngineError(
            f"--ray-address {self.address}: the Ray cluster disappeared (its driver process ended with "
            f"status {self.process.exitcode}; details in {self.log_path}); the sentences synthesised "
            f"so far ({made}) are kept in the cache: run again to resume"
        )

    def fill_cache(self, jobs: Sequence[ChapterJob], progress: Progress) -> int:
        """Synthesise on the cluster every clip of ``jobs`` the cache lacks, stored in the cache as each arrives.

        Chapters whose assembled audio is already cached are skipped. Returns how many clips were made.

        Raises:
            EngineError: the engine failed on a sentence (named), or the cluster stopped answering
                (the clips made so far stay in the cache).
            EngineUnavailable: the synthesizer actors could not start.
        """
        if not jobs:
            return 0
        cache = NarrationCache(jobs[0].cache_dir)
        wanted = missing_clips(jobs, cache)
        if not wanted:
            return 0
        first = jobs[0]
        # Each actor holds one core: one onnxruntime thread per actor, as with a worker per core here.
        engine = first.engine if self.device == "cuda" else first.engine.for_workers(os.cpu_count() or 1)
        where = {key: (job, index) for key, (job, index, _) in wanted.items()}
        progress.start(len(wanted), "Synthesising on Ray")
        made = 0
        try:
            actors = self.gpus if self.device == "cuda" else self.cpus
            batches = make_batches(wanted, batch_size(len(wanted), actors))
            self.connection.send(("fill", engine, first.voice, batches, str(first.cache_dir)))
            while True:
                kind, *details = self.receive(made)
                if kind == "clip":
                    key, audio_s = details
                    made += 1
                    progress.advance(1, where[key][0].title, audio_s=audio_s)
                elif kind == "engine-error":
                    from reviewpub.narration.workers import engine_failure

                    key, error = details
                    job, index = where[key]
                    raise engine_failure(job, index, error)
                elif kind == "failed":
                    raise EngineUnavailable(str(details[0]))
                elif kind == "cluster-error":
                    raise EngineError(
                        f"--ray-address {self.address}: the Ray cluster stopped answering ({details[0]}); "
                        f"the sentences synthesised so far ({made}) are kept in the cache: run again "
                        "to resume"
                    )
                else:
                    self.traffic = details[0]
                    break
        except BaseException:
            self.close()  # a driver left mid-batch would keep sending; the next run starts afresh
            raise
        finally:
            progress.finish()
        # The bench reads this line (totals for the whole process, every review so far).
        traffic = self.traffic
        logger.debug(
            "ray: %d clips, %d bytes sent, %d bytes received, %.2f min of audio, %.3f CPU s in the Ray "
            "driver process, %.3f CPU s in the actors",
            traffic.clips,
            traffic.sent_bytes,
            traffic.received_bytes,
            traffic.audio_s / 60,
            traffic.driver_cpu_s,
            traffic.worker_cpu_s,
        )
        return made

    def remove_log(self) -> None:
        """Remove Ray's log at exit, unless an error message named it."""
        if not self.keeps_log:
            self.log_path.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the driver process; its actors end with it (the cluster itself keeps running)."""
        JOINED.pop((self.address, self.device), None)
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)
        self.connection.close()


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
