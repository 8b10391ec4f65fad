"""Narration on a real local Ray runtime (issue #13): same bytes as local, a shared cache, faults.

One runtime is started for the module (``ray.init(num_cpus=2)``, stopped at the end); builds run
as ``reviewpub`` subprocesses joining it with ``--ray-address``, as a user's would. Ray resolves
127.0.0.1 to this machine's own interface address, so the traffic stays on this machine.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from reviewpub.engines.piper_runtime import has_nvidia_gpu
from reviewpub.errors import ExitStatus
from reviewpub.narration.cache import FORMAT
from reviewpub.narration.ray_driver import ACTOR_NAME_PREFIX, INSTALL_HINT, NAMESPACE
from tests.helpers.cli import run_cli

REVIEW_A = """\
# Night Train

## The premise

A night train crosses a frozen country. Nobody on board knows the driver. The film takes its time.

## The verdict

It is slow, and it is worth it. Four out of five.
"""
REVIEW_B = "Harbour Lights\n\nA short film about a lighthouse keeper. The sea is the real star.\n"
PIPER_REVIEW = (
    "Ray Piper Review\n\n"
    + "\n\n".join(
        f"Part {number}\n\n"
        + " ".join(
            f"Sentence {word} of part {number} is read by a neural voice."
            for word in ("one", "two", "three", "four", "five", "six")
        )
        for number in range(1, 5)
    )
    + "\n"
)
"""Four chapters of six sentences: several batches, so an actor can be killed with work left."""
RUN_TIMEOUT_S = 300
"""Bounds every subprocess: a hang fails the test instead of the suite."""


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real local Ray runtime for the module; its GCS address, which other processes join."""
    context = ray.init(
        num_cpus=2, include_dashboard=False, namespace=NAMESPACE, logging_level="ERROR", log_to_driver=False
    )
    try:
        yield str(context.address_info["gcs_address"])
    finally:
        ray.shutdown()


def reviewpub(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``reviewpub ARGUMENTS`` as a separate process, as a user runs it (its own Ray driver)."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.run(
        [sys.executable, "-m", "reviewpub", *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def succeeded(completed: subprocess.CompletedProcess[str]) -> str:
    """stderr of a run that must have succeeded; its whole stderr in the failure otherwise."""
    assert completed.returncode == ExitStatus.SUCCESS, completed.stderr[-4000:]
    return completed.stderr


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path (locks excluded: they are empty and not output)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(".lock")
    }


def assert_same_files(first: Path, second: Path) -> None:
    """Both folders hold the same files with the same bytes."""
    left, right = tree(first), tree(second)
    assert sorted(left) == sorted(right)
    different = [name for name in left if left[name] != right[name]]
    assert not different, f"files differ: {different}"
    assert any(name.endswith(".mp3") for name in left)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of two short reviews (one show)."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "night-train.md").write_text(REVIEW_A, encoding="utf-8")
    (source / "harbour-lights.txt").write_text(REVIEW_B, encoding="utf-8")
    return source


def ray_options(cluster: str) -> tuple[str, ...]:
    return ("--executor", "ray", "--ray-address", cluster)


def test_a_folder_builds_byte_identically_on_ray_and_locally(cluster: str, folder: Path, tmp_path: Path) -> None:
    on_ray = succeeded(
        reviewpub(
            "-v",
            "build",
            str(folder),
            "--engine",
            "espeak",
            "-o",
            str(tmp_path / "ray"),
            "--cache-dir",
            str(tmp_path / "ray-cache"),
            *ray_options(cluster),
        )
    )
    succeeded(
        reviewpub(
            "build",
            str(folder),
            "--engine",
            "espeak",
            "-o",
            str(tmp_path / "local"),
            "--cache-dir",
            str(tmp_path / "local-cache"),
        )
    )
    assert_same_files(tmp_path / "ray", tmp_path / "local")
    assert "narration (ray)" in on_ray and "ray: " in on_ray
    assert "0 from the cache" in on_ray


def forget_chapters(cache: Path) -> None:
    """Drop the cache's assembled chapters, so the next build must fetch every clip again."""
    for path in (cache / FORMAT / "chapters").rglob("*"):
        if path.is_file():
            path.unlink()


@pytest.mark.parametrize("first, second", [("ray", "local"), ("local", "ray")])
def test_the_cache_is_shared_both_ways(cluster: str, folder: Path, tmp_path: Path, first: str, second: str) -> None:
    cache = tmp_path / "cache"

    def build(executor: str, output: str) -> str:
        options = ray_options(cluster) if executor == "ray" else ()
        return succeeded(
            reviewpub(
                "build",
                str(folder),
                "--engine",
                "espeak",
                "-o",
                str(tmp_path / output),
                "--cache-dir",
                str(cache),
                *options,
            )
        )

    made = build(first, "first")
    assert "0 from the cache" in made and " 0 of " not in made
    # Chapters assembled by the first build would hide the clips: only the sentence clips are shared.
    forget_chapters(cache)
    again = build(second, "second")
    assert again.count("synthesised") == 2
    assert all(line.split("; ")[-1].startswith("0 of ") for line in again.splitlines() if "synthesised" in line)
    assert_same_files(tmp_path / "first", tmp_path / "second")


def piper_audio_on_ray(source: Path, output: Path, cache: Path, address: str) -> list[str]:
    """The arguments of ``reviewpub audio`` with Piper on the Ray cluster at ``address``."""
    arguments = ["audio", str(source), "--engine", "piper", "-o", str(output), "--cache-dir", str(cache)]
    return [*arguments, "--executor", "ray", "--ray-address", address]


def start_reviewpub(arguments: list[str], output: int | None = subprocess.PIPE) -> subprocess.Popen[str]:
    """``reviewpub ARGUMENTS`` started in the background, to be interfered with while it runs."""
    return subprocess.Popen(
        [sys.executable, "-m", "reviewpub", *arguments],
        stdout=output,
        stderr=output,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
    )


def build_locally_with_piper(source: Path, output: Path, cache: Path) -> None:
    """The reference: ``reviewpub audio`` with Piper in local worker processes and a cache of its own."""
    succeeded(reviewpub("audio", str(source), "--engine", "piper", "-o", str(output), "--cache-dir", str(cache)))


def test_a_killed_synthesizer_is_restarted_and_the_files_are_the_same(cluster: str, tmp_path: Path) -> None:
    source = tmp_path / "ray-piper.txt"
    source.write_text(PIPER_REVIEW, encoding="utf-8")
    cache = tmp_path / "ray-cache"
    build = start_reviewpub(piper_audio_on_ray(source, tmp_path / "ray", cache, cluster))
    try:
        victim = None
        # Wait for the first clips to arrive (synthesis under way, batches still queued), then kill an actor.
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while victim is None and build.poll() is None and time.monotonic() < deadline:
            names = [
                entry["name"]
                for entry in ray.util.list_named_actors(all_namespaces=True)
                if entry["name"].startswith(ACTOR_NAME_PREFIX) and str(build.pid) in entry["name"]
            ]
            if names and any((cache / FORMAT / "clips").rglob("*.pcm")):
                victim = ray.get_actor(sorted(names)[0], namespace=NAMESPACE)
                pid = ray.get(victim.pid.options(concurrency_group="control").remote(), timeout=60)
                assert build.poll() is None, "the build finished before an actor could be killed"
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        assert victim is not None, "no synthesizer actor was seen while the build ran"
        _, stderr = build.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if build.poll() is None:
            build.kill()
    assert build.returncode == ExitStatus.SUCCESS, stderr[-4000:]
    build_locally_with_piper(source, tmp_path / "local", tmp_path / "local-cache")
    assert_same_files(tmp_path / "ray", tmp_path / "local")


def test_a_driver_killed_mid_run_resumes_from_the_cache_to_the_same_files(cluster: str, tmp_path: Path) -> None:
    """SIGKILL of ``reviewpub`` itself (its Ray driver child dies with it): nothing half-written, and
    the next Ray build reuses the clips already made and ends with the files a local build makes."""
    source = tmp_path / "ray-piper.txt"
    source.write_text(PIPER_REVIEW, encoding="utf-8")
    cache, output = tmp_path / "ray-cache", tmp_path / "ray"
    arguments = piper_audio_on_ray(source, output, cache, cluster)
    build = start_reviewpub(arguments, output=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while build.poll() is None and time.monotonic() < deadline:
            if any((cache / FORMAT / "clips").rglob("*.pcm")):
                os.kill(build.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        assert build.wait(timeout=RUN_TIMEOUT_S) == -signal.SIGKILL, "the build finished before it could be killed"
    finally:
        if build.poll() is None:
            build.kill()
    # Killed while narrating: no audio was published, so nothing half-written is there.
    assert not list(output.rglob("*.mp3")), sorted(output.rglob("*"))
    resumed = succeeded(reviewpub(*arguments))
    match = re.search(r"(\d+) of (\d+) sentences synthesised, (\d+) from the cache", resumed)
    assert match is not None, resumed
    assert int(match.group(3)) > 0 and int(match.group(1)) < int(match.group(2)), resumed
    build_locally_with_piper(source, tmp_path / "local", tmp_path / "local-cache")
    assert_same_files(output, tmp_path / "local")


CLUSTER_SCRIPT = """
import sys, ray
context = ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
print(context.address_info["gcs_address"], flush=True)
sys.stdin.read()
ray.shutdown()
"""
"""A second, private runtime that the test can take away (stdin closed: ray.shutdown)."""


def test_a_cluster_that_disappears_mid_run_is_one_line_and_keeps_the_finished_clips(tmp_path: Path) -> None:
    source = tmp_path / "ray-piper.txt"
    source.write_text(PIPER_REVIEW, encoding="utf-8")
    cache, output = tmp_path / "cache", tmp_path / "output"
    clips = cache / FORMAT / "clips"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    doomed = subprocess.Popen(
        [sys.executable, "-c", CLUSTER_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    build = None
    try:
        assert doomed.stdout is not None and doomed.stdin is not None
        address = doomed.stdout.readline().strip()
        build = start_reviewpub(piper_audio_on_ray(source, output, cache, address))
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not any(clips.rglob("*.pcm")) and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert build.poll() is None, "the build finished before the cluster could be taken away"
        doomed.stdin.close()
        doomed.wait(timeout=RUN_TIMEOUT_S)
        _, stderr = build.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        for process in (doomed, build):
            if process is not None and process.poll() is None:
                process.kill()
    assert build.returncode == ExitStatus.ERROR
    lines = stderr.strip().splitlines()
    # Ray ends its driver process when the cluster goes, or first fails the pending batch: either is one line.
    assert len(lines) == 1 and "kept in the cache" in lines[0], stderr
    assert "the Ray cluster disappeared" in lines[0] or "the Ray cluster stopped answering" in lines[0], stderr
    kept = list(clips.rglob("*.pcm"))
    assert kept and len(kept) < PIPER_REVIEW.count("neural voice")
    assert not [path for path in output.rglob("*") if path.is_file() and not path.name.endswith(".lock")]


def closed_port() -> int:
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_cluster_is_one_line_and_nothing_is_written(folder: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    completed = reviewpub(
        "build",
        str(folder),
        "--engine",
        "espeak",
        "-o",
        str(output),
        "--executor",
        "ray",
        "--ray-address",
        f"127.0.0.1:{closed_port()}",
    )
    assert completed.returncode == ExitStatus.ERROR
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach a Ray cluster" in lines[0], completed.stderr
    assert not output.exists() or not any(output.iterdir())


def test_without_ray_installed_the_executor_says_how_to_install_it(folder: Path, tmp_path: Path) -> None:
    # A meta path finder that refuses `ray` stands in for an environment without it.
    script = textwrap.dedent("""
        import sys
        class NoRay:
            def find_spec(self, name, path=None, target=None):
                if name == "ray" or name.startswith("ray."):
                    raise ImportError("No module named 'ray'")
                return None
        sys.meta_path.insert(0, NoRay())
        from reviewpub.cli import main
        sys.argv = ["reviewpub", *sys.argv[1:]]
        main()
    """)
    output = tmp_path / "output"
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "build",
            str(folder),
            "--engine",
            "espeak",
            "-o",
            str(output),
            "--executor",
            "ray",
            "--ray-address",
            "auto",
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == ExitStatus.ERROR
    assert completed.stderr.strip() == f"Error: {INSTALL_HINT}"
    assert not output.exists()


def test_the_ray_executor_needs_an_address(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    result = run_cli("build", str(folder), "-o", str(tmp_path / "output"), "--executor", "ray", expect=ExitStatus.ERROR)
    assert "ray start --head" in result.stderr and "--ray-address" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "output").exists()


@pytest.mark.parametrize(
    "engine, message",
    [
        # The test extra installs the CPU onnxruntime, so a machine with a GPU refuses for want of its provider.
        ("piper", "--device cuda: no NVIDIA GPU on this machine" if not has_nvidia_gpu() else "has no CUDA provider"),
        ("espeak", "--device cuda: only the piper engine runs on a GPU"),
    ],
)
def test_device_cuda_without_a_gpu_is_refused_before_any_output(
    folder: Path, tmp_path: Path, engine: str, message: str
) -> None:
    result = run_cli(
        "build",
        str(folder),
        "-o",
        str(tmp_path / "output"),
        "--engine",
        engine,
        "--device",
        "cuda",
        expect=ExitStatus.ERROR,
    )
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "output").exists()
