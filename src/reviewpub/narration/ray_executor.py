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
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from reviewpub.errors import EngineError, EngineUnavailable, SettingsError
from reviewpub.narration.cache import NarrationCache
from reviewpub.narration.ray_driver import (
    Traffic,
    batch_size,
    import_ray,
    make_batches,
    missing_clips,
    run_driver,
)

if TYPE_CHECKING:
    from reviewpub.narration.plan import ChapterJob
    from reviewpub.progress import Progress

logger = logging.getLogger(__name__)

NO_ADDRESS_HINT = (
    "--executor ray needs a running Ray cluster: start one with `ray start --head`, then give "
    "--ray-address auto (or the address it printed, or set RAY_ADDRESS)"
)
CONNECT_TIMEOUT_S = 5.0
"""How long the cluster's address may take to accept a TCP connection. ray.init itself retries
an unreachable address for minutes, so the address is probed first."""
POLL_SECONDS = 0.5
"""How often the reviewpub process checks that the Ray driver process is still alive while it waits."""


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
