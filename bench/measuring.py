"""Measuring one process: wall time, CPU, peak memory of its tree; runs taken in turns.

Every figure of the bench is a whole process (a black box): wall time, user+sys CPU and peak
RSS from the kernel's rusage of the reaped child (``os.wait4``: the child and every descendant
it waited for, so ffmpeg and worker processes are included; ``ru_maxrss`` is the largest single
process), plus the peak PSS of the whole process tree sampled from /proc every 50 ms (forked
workers share pages; PSS counts each page once).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MEMORY_SAMPLE_S = 0.05
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4096 / 2**20


@dataclass(frozen=True)
class Sample:
    """One timed process."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    """``ru_maxrss``: the largest single process of the tree."""
    tree_peak_mb: float | None
    """Peak summed PSS of the process and all its descendants (sampled), when tracked."""
    last_message: str
    """The last line the process wrote to stderr (reviewpub's summary)."""
    messages: str = ""
    """Everything it wrote to stderr (the ray group reads reviewpub's -v lines)."""


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path("/proc", entry.name, "stat").read_bytes()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, ...
        parent = int(stat[stat.rfind(b")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def process_memory_mb(pid: int) -> float:
    """PSS of one process in MB (RSS where smaps_rollup is unavailable); 0 once it has gone."""
    try:
        for line in Path("/proc", str(pid), "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return int(Path("/proc", str(pid), "statm").read_text().split()[1]) * PAGE_MB
    except (OSError, IndexError, ValueError):
        return 0.0


class TreeMemory:
    """Samples the summed memory of a process tree in a thread until stopped; keeps the peak."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_mb = 0.0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        """The sampling loop."""
        while not self.stopped.is_set():
            total = sum(process_memory_mb(pid) for pid in process_tree(self.root))
            self.peak_mb = max(self.peak_mb, total)
            self.stopped.wait(MEMORY_SAMPLE_S)

    def stop(self) -> float | None:
        """Stop sampling; the peak in MB (None if no sample saw the process)."""
        self.stopped.set()
        self.thread.join()
        return self.peak_mb or None


def run_once(command: list[str], *, env: dict[str, str], track_memory: bool = False) -> Sample:
    """Run ``command`` once, quietly, and measure it; stop the bench if it fails."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        tracker = TreeMemory(process.pid) if track_memory and Path("/proc/self/stat").exists() else None
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        tree_peak_mb = tracker.stop() if tracker else None
        stderr.seek(0)
        messages = stderr.read().decode("utf-8", "replace").strip()
    if process.returncode != 0:
        raise SystemExit(
            f"bench: this command failed (exit {process.returncode}):\n  {' '.join(command)}\n{messages[-3000:]}"
        )
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss_mb = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    last = messages.splitlines()[-1] if messages else ""
    return Sample(wall_s, usage.ru_utime + usage.ru_stime, rss_mb, tree_peak_mb, last, messages)


Command = Callable[[int], list[str]]
"""Gives the command of run N (-1 is the warm-up), so each run can have fresh folders."""


@dataclass
class Measured:
    """The samples of one command, and what it was."""

    label: str
    samples: list[Sample]


class Bench:
    """Runs commands with the bench's environment, fresh folders and progress lines on stderr."""

    def __init__(self, work: Path, *, warmup: bool) -> None:
        self.work = work
        self.warmup = warmup
        self.counter = 0
        self.env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "PYTHONDONTWRITEBYTECODE": "1"}
        self.started = time.perf_counter()

    def fresh(self, name: str) -> Path:
        """A new, empty folder path under the work folder (not created: the command makes it)."""
        self.counter += 1
        return self.work / f"{name}-{self.counter}"

    def say(self, message: str) -> None:
        """A progress line on stderr, with the time since the bench started."""
        elapsed = time.perf_counter() - self.started
        print(f"bench [{elapsed // 60:02.0f}:{elapsed % 60:04.1f}] {message}", file=sys.stderr, flush=True)

    def measure(
        self,
        label: str,
        command: Command,
        runs: int,
        *,
        warmup: bool | None = None,
        track_memory: bool = False,
        cleanup: Callable[[], None] | None = None,
    ) -> Measured:
        """``runs`` samples of one command after an optional warm-up."""
        return self.alternate([(label, command)], runs, warmup=warmup, track_memory=track_memory, cleanup=cleanup)[0]

    def alternate(
        self,
        commands: list[tuple[str, Command]],
        runs: int,
        *,
        warmup: bool | None = None,
        track_memory: bool = False,
        cleanup: Callable[[], None] | None = None,
    ) -> list[Measured]:
        """Samples of several commands taken in turns (A B A B ...), so drift hits them alike."""
        warm = self.warmup if warmup is None else warmup
        results = [Measured(label, []) for label, _ in commands]
        self.say(f"{' | '.join(label for label, _ in commands)}: {runs} run(s){' after a warm-up' if warm else ''}")
        for index in range(-1 if warm else 0, runs):
            for (_, command), result in zip(commands, results):
                sample = run_once(command(index), env=self.env, track_memory=track_memory)
                if index >= 0:
                    result.samples.append(sample)
                if cleanup:
                    cleanup()
        return results
