"""The GPU figure of README "Scaling out": Piper sentences through reviewpub's PiperEngine, CPU and CUDA.

Run on a machine with an NVIDIA GPU and onnxruntime-gpu (not part of ``make bench``, which
runs where there is none): ``python bench/gpu_piper.py [PART COUNT]`` with
``.gpu/sentences.json`` holding ``{"voice": ..., "sentences": [spoken text, ...]}`` (the
seed review's spoken sentences from ``narration.plan.plan_jobs``) and ``/tmp/gpusite`` holding
piper-tts, the voice and onnxruntime-gpu. It writes ``$OUT/gpu.json``: wall and CPU time per
pass, minutes of audio per minute, and a digest of the PCM so two passes can be compared.
With PART COUNT it speaks every COUNT-th sentence from PART, to run COUNT processes at once.
"""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time

sys.path[:0] = ["/tmp/gpusite", "src"]
out = os.environ.get("OUT", "/tmp")
result = {}


def save():
    with open(os.path.join(out, "gpu.json"), "w") as file:
        json.dump(result, file, indent=1)
    print(json.dumps(result, indent=1), flush=True)


import onnxruntime

result["onnxruntime"] = onnxruntime.__version__
result["providers"] = onnxruntime.get_available_providers()
result["gpu"] = subprocess.run(
    ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
    capture_output=True,
    text=True,
).stdout.strip()
result["cpus"] = os.cpu_count()
from reviewpub.engines import piper as P
from reviewpub.engines.piper_runtime import check_cuda

try:
    check_cuda()
    result["check_cuda"] = "ok"
except Exception as error:
    result["check_cuda"] = f"{type(error).__name__}: {error}"
with open(".gpu/sentences.json") as file:
    data = json.load(file)
voice, sentences = data["voice"], data["sentences"]
result["sentences"] = len(sentences)


def one_pass(engine, texts):
    clips = [engine.synthesize(t, voice=voice) for t in texts]
    return clips


def measure(device, threads, streams):
    engines = [P.PiperEngine(device=device, threads=threads) for _ in range(streams)]
    # Load (and warm up) each stream's voice once; cached per process by model/threads/device,
    # so streams share one session.
    t = time.perf_counter()
    engines[0].synthesize(sentences[0], voice=voice)
    load_s = time.perf_counter() - t
    for e in engines[1:]:
        e.synthesize(sentences[0], voice=voice)
    parts = [sentences[i::streams] for i in range(streams)]
    outputs = [None] * streams

    def work(i):
        outputs[i] = one_pass(engines[i], parts[i])

    c0 = time.process_time()
    t0 = time.perf_counter()
    threads_ = [threading.Thread(target=work, args=(i,)) for i in range(streams)]
    for th in threads_:
        th.start()
    for th in threads_:
        th.join()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    clips = [c for o in outputs for c in o]
    audio_s = sum(len(c.samples) / 2 / c.sample_rate for c in clips)
    digest = hashlib.sha256(b"".join(c.samples for c in outputs[0])).hexdigest()[:16] if streams == 1 else None
    return dict(
        device=device,
        threads=threads,
        streams=streams,
        first_call_s=round(load_s, 3),
        wall_s=round(wall, 3),
        cpu_s=round(cpu, 2),
        audio_s=round(audio_s, 2),
        audio_min_per_wall_min=round(audio_s / wall, 1),
        cpu_s_per_audio_min=round(cpu / (audio_s / 60), 2),
        pcm_sha256_16=digest,
    ), clips


runs = []
if len(sys.argv) > 2:
    k, n = int(sys.argv[1]), int(sys.argv[2])
    sentences = sentences[k::n]
    result["part"] = [k, n]
    out = os.path.join(out, f"p{k}")
    os.makedirs(out, exist_ok=True)
cpu_ref = None
for device, threads, streams in [("cpu", 16, 1), ("cpu", 1, 1), ("cuda", 1, 1), ("cuda", 1, 1)]:
    try:
        figure, clips = measure(device, threads, streams)
        if streams == 1 and device == "cpu" and threads == 16:
            cpu_ref = clips
        if streams == 1 and device == "cuda" and cpu_ref is not None:
            import numpy as np

            same_len = sum(len(a.samples) == len(b.samples) for a, b in zip(clips, cpu_ref))
            diffs = [
                int(
                    np.abs(
                        np.frombuffer(a.samples, "<i2").astype(int) - np.frombuffer(b.samples, "<i2").astype(int)
                    ).max()
                )
                for a, b in zip(clips, cpu_ref)
                if len(a.samples) == len(b.samples)
            ]
            figure["vs_cpu"] = dict(
                same_length=same_len, identical=sum(d == 0 for d in diffs), max_abs_diff=max(diffs or [0])
            )
        runs.append(figure)
    except Exception as error:
        runs.append(
            dict(device=device, threads=threads, streams=streams, error=f"{type(error).__name__}: {str(error)[:400]}")
        )
    result["runs"] = runs
    save()
