"""`talkmesh bench export`: how fast export and streaming run, how much memory long audio takes,
and whether window joins show.

- Offline export: audio seconds per wall second (real-time factor) of `export.export_one`, the
  code path of `talkmesh export` (ffmpeg decoding in chunks, the Predictor's windows, an .npy
  written as frames arrive), on a speech-like wav: steady state (compiled; median of rounds) and
  cold (a fresh Predictor, compilation included, as one CLI call pays it minus Python's imports),
  for `tiny` and the original's defaults (`original`: a Whisper-small-sized encoder, random
  weights, 5 s windows). With `--workdir RUN`, one whole `talkmesh export` process on RUN too.
- Streaming (`tiny`, or RUN): a wav read at real-time pace in 20 ms chunks through a Streamer:
  per-frame latency (first audio sample of a frame pushed → the frame returned), at the model's own
  look-ahead and shorter ones; the real-time factor without pacing; with RUN, the largest and mean
  difference from offline export per look-ahead (cm).
- Memory: peak RSS of a separate process exporting 1 min and 30 min (tiny, npy).
- Seams: on a 10 min export, frame-to-frame motion at window joins vs elsewhere.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from talkmesh_jax import SAMPLE_RATE
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.bench.timing import machine_info
from talkmesh_jax.config import apply_overrides, load_config
from talkmesh_jax.export import export_one
from talkmesh_jax.inference import Predictor
from talkmesh_jax.media import load_audio
from talkmesh_jax.models.build import build_family
from talkmesh_jax.stream_command import paced, run_stream
from talkmesh_jax.streaming import Streamer, measure_lookahead

MODELS = {"tiny": [], "original_defaults": ["model.audio_encoder.checkpoint=None"]}
CONFIG_OF = {"tiny": "tiny", "original_defaults": "original"}


@dataclass(frozen=True)
class ExportBenchConfig:
    seconds: float = 60.0
    rounds: int = 3
    stream_seconds: float = 10.0
    memory_minutes: tuple[float, ...] = (1.0, 30.0)
    seam_minutes: float = 10.0
    workdir: str | None = None


def random_predictor(name: str) -> Predictor:
    """A Predictor of a shipped config with random weights (landmarks+blendshapes, 478 points)."""
    config = load_config(CONFIG_OF[name])
    apply_overrides(config, [*MODELS[name], "model.num_landmarks=478"])
    family = build_family(config)
    window = int(config.data.window_frames)
    variables = family.init(jax.random.key(0), window)
    reference = np.zeros((478, 3), np.float32)
    return Predictor(family, variables, reference, window, int(config.eval.batch_size))


def write_long_wav(path: Path, seconds: float, seed: int = 0) -> Path:
    """A speech-like 16 kHz wav of `seconds`, written a minute at a time."""
    clip = speechlike(1, 60 * SAMPLE_RATE, seed)[0]
    pcm = (np.clip(clip, -1, 1) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        left = int(seconds * SAMPLE_RATE)
        while left > 0:
            take = min(left, 60 * SAMPLE_RATE)
            f.writeframes(pcm[: 2 * take])
            left -= take
    return path


def _export_rtf(make_predictor, wav: Path, seconds: float, rounds: int, tmp: Path) -> dict:
    start = time.perf_counter()
    predictor = make_predictor()
    export_one(predictor, None, wav, tmp / "cold", ("npy",))
    cold = time.perf_counter() - start
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        export_one(predictor, None, wav, tmp / f"warm{i}", ("npy",))
        times.append(time.perf_counter() - start)
    return {"steady": seconds / float(np.median(times)), "cold": seconds / cold}


def _stream_figures(predictor: Predictor, wav: Path, lookaheads: list[int | None]) -> dict:
    audio = load_audio(wav)
    chunks = [audio[i : i + 320] for i in range(0, len(audio), 320)]
    offline = predictor.predict_all(audio)
    figures = {}
    for lookahead in lookaheads:
        streamer = Streamer(predictor, lookahead)
        sink = _MemorySink()
        paced_run = run_stream(streamer, paced(chunks), sink)
        fast = run_stream(Streamer(predictor, streamer.lookahead), chunks, _MemorySink())
        row = {
            "lookahead_ms": streamer.lookahead_ms,
            "latency_ms": paced_run["latency_ms"],
            "rtf_unpaced": fast["rtf"],
        }
        streamed = np.concatenate(sink.blocks)
        reference = offline.get("landmarks", offline.get("blendshapes"))
        difference = np.abs(streamed - reference)
        row["difference_from_offline"] = {
            "max": float(difference.max()),
            "mean": float(difference.mean()),
        }
        figures[f"{streamer.lookahead_ms:.0f}ms"] = row
    return figures


class _MemorySink:
    def __init__(self):
        self.blocks = []

    def write(self, block):
        self.blocks.append(block.get("landmarks", block.get("blendshapes")))

    def close(self):
        return None

    def discard(self):
        pass


MEMORY_SCRIPT = """
import resource, sys
from pathlib import Path
from talkmesh_jax.bench.export import random_predictor
from talkmesh_jax.export import export_one
from talkmesh_jax.runs import open_run
workdir, wav, out = sys.argv[1:4]
predictor = random_predictor("tiny") if workdir == "-" else open_run(workdir)[1]
export_one(predictor, None, Path(wav), Path(out), ("npy",))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss_mb(workdir: str | None, wav: Path, base: Path) -> float:
    """Peak RSS (MB) of a fresh process exporting `wav` to base.npy with RUN (None: random tiny)."""
    args = [sys.executable, "-c", MEMORY_SCRIPT, workdir or "-", str(wav), str(base)]
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def seam_figures(predictor: Predictor, wav: Path, out: Path) -> dict:
    """Frame-to-frame motion (largest landmark step, cm) at window joins (the overlaps, where one
    window fades into the next) vs all other frames, of a whole export."""
    export_one(predictor, None, wav, out, ("npy",))
    values = np.load(out.with_name(out.name + ".npy"), mmap_mode="r")
    values = np.asarray(values).reshape(len(values), -1)
    steps = np.abs(np.diff(values, axis=0)).max(1)  # step into frame t + 1
    frame = np.arange(1, len(values))
    overlap = predictor.window - predictor.hop
    joins = (frame >= predictor.hop) & ((frame % predictor.hop) <= overlap)
    return {
        "frames": int(len(values)),
        "join_step_max_cm": float(steps[joins].max()),
        "join_step_p99_cm": float(np.percentile(steps[joins], 99)),
        "other_step_max_cm": float(steps[~joins].max()),
        "other_step_p99_cm": float(np.percentile(steps[~joins], 99)),
    }


def run_export_bench(bench: ExportBenchConfig, progress: bool = True) -> dict:
    results: dict = {"machine": machine_info(), "seconds": bench.seconds}

    def say(text: str) -> None:
        if progress:
            print(text, flush=True)

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        wav = write_long_wav(tmp / "speech.wav", bench.seconds)
        for name in MODELS:
            say(f"offline export, {name}, {bench.seconds:g} s …")
            rtf = _export_rtf(
                lambda n=name: random_predictor(n), wav, bench.seconds, bench.rounds, tmp
            )
            results[f"rtf_{name}"] = rtf["steady"]
            results[f"rtf_{name}_cold"] = rtf["cold"]
        results["rtf_original_defaults_target"], results["rtf_tiny_target"] = 5.0, 20.0
        if bench.workdir is not None:
            say("one whole talkmesh export process on the run …")
            args = [sys.executable, "-m", "talkmesh_jax.cli", "export", "--workdir", bench.workdir]
            args += ["--audio", str(wav), "--out", str(tmp / "cli.npy"), "--no-progress"]
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            results["rtf_run_cli_process"] = bench.seconds / (time.perf_counter() - start)

        from talkmesh_jax.runs import open_run

        streaming = open_run(bench.workdir)[1] if bench.workdir else random_predictor("tiny")
        say(f"streaming {bench.stream_seconds:g} s at real-time pace (three look-aheads) …")
        short = write_long_wav(tmp / "short.wav", bench.stream_seconds, seed=1)
        own = measure_lookahead(streaming)
        lookaheads = sorted({own, min(own, 4), min(own, 3)}, reverse=True)
        stream = _stream_figures(streaming, short, lookaheads)
        results["stream"] = stream
        first = stream[f"{own * 40}ms"]
        results["stream_latency_ms_tiny"] = first["latency_ms"]["mean"]
        results["stream_rtf_tiny"] = first["rtf_unpaced"]
        results["stream_lookahead_ms_tiny"] = first["lookahead_ms"]

        for minutes in bench.memory_minutes:
            say(f"peak memory of a {minutes:g} min export …")
            long = write_long_wav(tmp / f"{minutes:g}min.wav", 60 * minutes)
            key = f"peak_rss_mb_{minutes:g}min"
            results[key] = peak_rss_mb(bench.workdir, long, tmp / f"{minutes:g}min_out")
            long.unlink()
        say(f"seams of a {bench.seam_minutes:g} min export …")
        seam_wav = write_long_wav(tmp / "seams.wav", 60 * bench.seam_minutes, seed=2)
        results["seams"] = seam_figures(streaming, seam_wav, tmp / "seams_out")
    results["config"] = {**bench.__dict__, "memory_minutes": list(bench.memory_minutes)}
    return results


def format_table(results: dict) -> str:
    lines = [
        f"offline export, real-time factor ({results['seconds']:g} s of audio, npy):",
        f"  tiny               {results['rtf_tiny']:8.1f}x steady, "
        f"{results['rtf_tiny_cold']:6.1f}x cold (target 20x)",
        f"  original defaults  {results['rtf_original_defaults']:8.1f}x steady, "
        f"{results['rtf_original_defaults_cold']:6.1f}x cold (target 5x)",
    ]
    if "rtf_run_cli_process" in results:
        lines.append(
            f"  the run, one talkmesh export process: {results['rtf_run_cli_process']:.1f}x"
        )
    lines.append("streaming (20 ms chunks at real-time pace):")
    for name, row in results["stream"].items():
        latency, diff = row["latency_ms"], row["difference_from_offline"]
        lines.append(
            f"  look-ahead {name:>6}: latency mean {latency['mean']:5.0f} ms, p95 "
            f"{latency['p95']:5.0f}, max {latency['max']:5.0f}; {row['rtf_unpaced']:6.1f}x real "
            f"time unpaced; vs offline max {diff['max']:.4f}, mean {diff['mean']:.5f}"
        )
    for key, value in results.items():
        if key.startswith("peak_rss_mb_"):
            lines.append(f"peak RSS, {key.removeprefix('peak_rss_mb_')} export: {value:7.0f} MB")
    seams = results["seams"]
    lines.append(
        f"seams ({seams['frames']} frames): step at joins max {seams['join_step_max_cm']:.4f} "
        f"(p99 {seams['join_step_p99_cm']:.4f}), elsewhere max {seams['other_step_max_cm']:.4f} "
        f"(p99 {seams['other_step_p99_cm']:.4f})"
    )
    return "\n".join(lines)
