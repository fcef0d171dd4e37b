"""`talkmesh bench export`: how fast export and streaming run, how much memory long audio takes,
and whether window joins show.

- Offline export: audio seconds per wall second (real-time factor) for `tiny`, the original's
  defaults (`original`: a Whisper-small-sized encoder, the shipped context `chunked`) and
  `whisper_tiny` with Whisper tiny and base sizes (context `chunked`), each on a run folder
  written with random weights. Headline: one whole `talkmesh
  export` process (start-up, imports, compilation included); beside it, in a running process,
  the first `export_one` call on the freshly opened run (cold) and the median of later calls
  (steady state). With `--workdir RUN`, one whole process on RUN too.
- Streaming (RUN if it takes audio, else the random `tiny` run; and a random `whisper_tiny_stream`
  run, Whisper tiny's size in the streaming context `trailing`): a wav played at real-time pace in
  20 ms chunks through a Streamer; each frame's latency runs from the arrival of its last audio
  sample (the pacing clock) to its being written, every frame counted, late frames reported; at
  the model's own look-ahead and shorter ones; the real-time factor without pacing; the largest
  and mean difference from offline export per look-ahead (cm).
- Memory: one `talkmesh export` process per length (1 and 30 min), watched from outside: its
  own peak RSS and the growth of its RSS while the .npy output grows (`bench.process`).
- Seams: on a 10 min export, frame-to-frame motion at window joins vs elsewhere.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import ml_collections
import numpy as np

from talkmesh_jax import SAMPLE_RATE
from talkmesh_jax.bench.process import run_measured
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.bench.timing import machine_info
from talkmesh_jax.config import apply_overrides, load_config
from talkmesh_jax.inference.export import export_one
from talkmesh_jax.inference.predictor import Predictor
from talkmesh_jax.inference.runs import open_run
from talkmesh_jax.inference.stream_io import paced, run_stream, unpaced
from talkmesh_jax.inference.streaming import Streamer, measure_lookahead
from talkmesh_jax.media import load_audio
from talkmesh_jax.models.build import build_family, init_variables
from talkmesh_jax.train.loop import fill_new_defaults, resolve_encoder_architecture

CONFIG_OF = {"tiny": "tiny", "original_defaults": "original"}
# offline rows: name → (shipped config, Whisper size of its random weights; None: --whisper-size)
OFFLINE_MODELS = {
    "tiny": ("tiny", None),
    "original_defaults": ("original", None),
    "whisper_tiny": ("whisper_tiny", "tiny"),
    "whisper_base": ("whisper_tiny", "base"),
}
TARGETS = {"tiny": 20.0, "original_defaults": 5.0, "whisper_tiny": 10.0, "whisper_base": 5.0}


@dataclass(frozen=True)
class ExportBenchConfig:
    seconds: float = 60.0
    rounds: int = 3
    stream_seconds: float = 10.0
    memory_minutes: tuple[float, ...] = (1.0, 30.0)
    seam_minutes: float = 10.0
    workdir: str | None = None
    whisper_size: str = "small"  # the `original` config's Whisper (random weights of this size)


def bench_config(
    name: str, whisper_size: str = "small", overrides: tuple[str, ...] = ()
) -> ml_collections.ConfigDict:
    """A shipped config (`CONFIG_OF[name]`, or a shipped name) as `talkmesh train` resolves it,
    with random weights (Whisper of `whisper_size`, the shipped context unless `overrides` say
    otherwise), 478 landmarks and blendshapes."""
    config = load_config(CONFIG_OF.get(name, name))
    changes = ["model.num_landmarks=478", "model.targets=landmarks+blendshapes"]
    if config.model.audio_encoder.kind == "whisper":
        changes += ["model.audio_encoder.checkpoint=None"]
        changes += [f"model.audio_encoder.size={whisper_size}"]
    apply_overrides(config, changes + list(overrides))
    fill_new_defaults(config)
    resolve_encoder_architecture(config)
    return config


def heard_output(variables, seed: int = 0):
    """`variables` with every all-zero kernel (the zero-initialised output layer) drawn at random
    (σ 0.01), so a random run's frames depend on its audio as a trained run's do (the streaming
    look-ahead is then measured, not assumed to be the whole window)."""
    import jax

    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        name = jax.tree_util.keystr(path)
        if name.endswith("['kernel']") and not np.any(np.asarray(leaf)):
            return (0.01 * rng.standard_normal(np.shape(leaf))).astype(np.asarray(leaf).dtype)
        return leaf

    return jax.tree_util.tree_map_with_path(draw, variables)


def write_random_run(
    name: str, workdir: Path, whisper_size: str = "small", overrides: tuple[str, ...] = ()
) -> Path:
    """A run folder of a shipped config with random weights (see `bench_config`), as
    `talkmesh export` opens it: config.json, reference faces, one checkpoint."""
    from talkmesh_jax.checkpoints import Checkpointer
    from talkmesh_jax.config import save_config
    from talkmesh_jax.facemesh import canonical_face
    from talkmesh_jax.run_dir import RunDir

    config = bench_config(name, whisper_size, overrides)
    family = build_family(config)
    variables = heard_output(init_variables(family, int(config.data.window_frames), 0))
    run = RunDir(workdir)
    save_config(config, run.config)
    run.reference_dir.mkdir(parents=True, exist_ok=True)
    face = np.zeros((478, 3), np.float32)
    face[:468] = canonical_face()["vertices"]
    for reference in ("mean_face", "close_mouth_face"):
        np.save(run.reference(reference), face)
    checkpointer = Checkpointer(workdir, keep=1, keep_best=False)
    try:  # the training state is not needed by readers: a placeholder
        checkpointer.save(1, {"step": np.int32(1)}, {}, variables, None)
    finally:
        checkpointer.close()
    return workdir


def export_command(workdir: str | Path, wav: Path, out: Path) -> list[str]:
    """The `talkmesh export` command line (this Python) writing out.npy."""
    args = [sys.executable, "-m", "talkmesh_jax.cli", "export", "--workdir", str(workdir)]
    return [*args, "--audio", str(wav), "--out", str(out), "--no-progress"]


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


def _export_rtf(predictor: Predictor, wav: Path, seconds: float, rounds: int, tmp: Path) -> dict:
    """In-process real-time factors of `export_one` (the code path of `talkmesh export`): the
    first call on a fresh predictor (compilation included, Python's imports and the run's
    loading not) and the median of `rounds` calls after it (steady state)."""
    start = time.perf_counter()
    export_one(predictor, None, wav, tmp / "cold", ("npy",))
    cold = time.perf_counter() - start
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        export_one(predictor, None, wav, tmp / f"warm{i}", ("npy",))
        times.append(time.perf_counter() - start)
    return {"steady": seconds / float(np.median(times)), "cold_in_process": seconds / cold}


def process_rtf(workdir: Path, wav: Path, seconds: float, out: Path) -> float:
    """Real-time factor of one whole `talkmesh export` process (start-up, imports, opening the
    run, compilation, decoding, writing): what a user's command costs."""
    return seconds / run_measured(export_command(workdir, wav, out)).wall_s


def _stream_figures(predictor: Predictor, wav: Path, lookaheads: list[int | None]) -> dict:
    """Per look-ahead: latency at real-time pace (20 ms chunks, from each frame's last sample's
    arrival on the pacing clock to the frame being written), the unpaced real-time factor, and
    the difference from offline export."""
    audio = load_audio(wav)
    chunks = [audio[i : i + 320] for i in range(0, len(audio), 320)]
    offline = predictor.predict_all(audio)
    figures = {}
    for lookahead in lookaheads:
        streamer = Streamer(predictor, lookahead)
        sink = _MemorySink()
        paced_run = run_stream(streamer, paced(chunks), sink)
        fast = run_stream(Streamer(predictor, lookahead), unpaced(chunks), _MemorySink())
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


def _whisper_stream_figures(tmp: Path, wav: Path, say) -> dict:
    """The streaming row of Whisper: a random `whisper_tiny_stream` run (tiny's size, context
    trailing) at its own look-ahead: latency at real-time pace, unpaced real-time factor."""
    say("streaming whisper_tiny_stream (context trailing) at real-time pace …")
    run = write_random_run("whisper_tiny_stream", tmp / "run_whisper_stream", "tiny")
    config, predictor, _ = open_run(run)
    row = next(iter(_stream_figures(predictor, wav, [None]).values()))
    encoder = config.model.audio_encoder
    return {
        "stream_whisper_tiny": row,
        "stream_whisper_tiny_context": (
            f"trailing: {encoder.trailing_seconds:g} s, hop {encoder.trailing_hop_frames}, "
            f"look-ahead {encoder.trailing_lookahead_frames} frames"
        ),
        "stream_latency_ms_whisper_tiny": row["latency_ms"]["mean"],
        "stream_latency_p95_ms_whisper_tiny": row["latency_ms"]["p95"],
        "stream_rtf_whisper_tiny": row["rtf_unpaced"],
        "stream_latency_target_ms_whisper_tiny": 200.0,
        "stream_rtf_target_whisper_tiny": 5.0,
    }


class _MemorySink:
    def __init__(self):
        self.blocks = []

    def write(self, block):
        self.blocks.append(block.get("landmarks", block.get("blendshapes")))

    def close(self):
        return None

    def discard(self):
        pass


def memory_figures(workdir: str | Path, wav: Path, out: Path, frames: int, width: int) -> dict:
    """One `talkmesh export` process of `wav` on RUN, watched from outside: its peak RSS (MB)
    and how far its RSS grows while the .npy output grows, from 10 % of the output on (start-up
    and compilation are over by then). `width`: floats per frame of out.npy."""
    run = run_measured(export_command(workdir, wav, out), out.parent, f"*{out.name}*")
    expected = frames * width * 4
    return {
        "peak_rss_mb": run.peak_rss_mb,
        "growth_mb": run.growth_mb(expected),
        "wall_s": run.wall_s,
        "rss_samples": len(run.samples),
        "output_mb": expected / 2**20,
    }


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


def _offline_rates(bench: ExportBenchConfig, wav: Path, tmp: Path, say) -> dict:
    """Per shipped model: one whole `talkmesh export` process on a random-weight run (the
    headline), and in-process cold and steady-state rates beside it on the same run; the runs
    are left in tmp/run_<name>."""
    results = {}
    for name, (config_name, size) in OFFLINE_MODELS.items():
        say(f"offline export, {name}, {bench.seconds:g} s: one talkmesh export process …")
        size = size or bench.whisper_size
        run = write_random_run(config_name, tmp / f"run_{name}", size)
        results[f"rtf_{name}_process"] = process_rtf(run, wav, bench.seconds, tmp / "p.npy")
        say(f"offline export, {name}: in process, cold and steady state …")
        config, predictor, _ = open_run(run)  # the same run, opened as export opens it
        rtf = _export_rtf(predictor, wav, bench.seconds, bench.rounds, tmp)
        results[f"rtf_{name}_steady"] = rtf["steady"]
        results[f"rtf_{name}_cold_in_process"] = rtf["cold_in_process"]
        results[f"rtf_{name}_target"] = TARGETS[name]
        if config.model.audio_encoder.kind == "whisper":
            context = config.model.audio_encoder.context
            results[f"{name}_whisper"] = f"{size}, context {context}"
    if bench.workdir is not None:
        say("one whole talkmesh export process on the given run …")
        results["rtf_run_process"] = process_rtf(bench.workdir, wav, bench.seconds, tmp / "c.npy")
    return results


def run_export_bench(bench: ExportBenchConfig, progress: bool = True) -> dict:
    results: dict = {"machine": machine_info(), "seconds": bench.seconds}

    def say(text: str) -> None:
        if progress:
            print(text, flush=True)

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        wav = write_long_wav(tmp / "speech.wav", bench.seconds)
        results.update(_offline_rates(bench, wav, tmp, say))
        given = Path(bench.workdir) if bench.workdir else None
        # the look-ahead rows need a model that takes audio: the given run, else random tiny
        streaming = open_run(given)[1] if given else None
        if streaming is None or streaming.features is not None:
            streaming = open_run(tmp / "run_tiny")[1]
        results["stream_run"] = "given" if given and streaming.features is None else "random tiny"
        say(f"streaming {bench.stream_seconds:g} s at real-time pace (three look-aheads) …")
        short = write_long_wav(tmp / "short.wav", bench.stream_seconds, seed=1)
        own = measure_lookahead(streaming)
        lookaheads = sorted({own, min(own, 4), min(own, 3)}, reverse=True)
        stream = _stream_figures(streaming, short, lookaheads)
        results["stream"] = stream
        first = stream[f"{own * 40}ms"]
        results["stream_latency_ms_tiny"] = first["latency_ms"]["mean"]
        results["stream_latency_p95_ms_tiny"] = first["latency_ms"]["p95"]
        results["stream_latency_max_ms_tiny"] = first["latency_ms"]["max"]
        results["stream_frames_late"] = first["latency_ms"]["late"]
        results["stream_rtf_tiny"] = first["rtf_unpaced"]
        results["stream_lookahead_ms_tiny"] = first["lookahead_ms"]
        results.update(_whisper_stream_figures(tmp, short, say))

        memory_run = given or tmp / "run_tiny"
        width = streaming.layout.num_landmarks * 3 or streaming.layout.num_blendshapes
        for minutes in bench.memory_minutes:
            say(f"memory of a {minutes:g} min export (one process, RSS sampled) …")
            long = write_long_wav(tmp / f"{minutes:g}min.wav", 60 * minutes)
            out = tmp / f"memory_{minutes:g}min" / "out.npy"
            frames = max(1, round(60 * minutes * 25))
            figures = memory_figures(memory_run, long, out, frames, width)
            results[f"memory_{minutes:g}min"] = figures
            results[f"peak_rss_mb_{minutes:g}min"] = figures["peak_rss_mb"]
            results[f"memory_growth_mb_{minutes:g}min"] = figures["growth_mb"]
            long.unlink()
            shutil.rmtree(out.parent)
        say(f"seams of a {bench.seam_minutes:g} min export …")
        seam_wav = write_long_wav(tmp / "seams.wav", 60 * bench.seam_minutes, seed=2)
        results["seams"] = seam_figures(streaming, seam_wav, tmp / "seams_out")
    results["config"] = {**bench.__dict__, "memory_minutes": list(bench.memory_minutes)}
    return results


def format_table(results: dict) -> str:
    lines = [
        f"offline export, real-time factor ({results['seconds']:g} s of audio, npy):",
        "                     one process (headline)   in process: cold    steady state",
    ]
    for name in OFFLINE_MODELS:
        lines.append(
            f"  {name:<18} {results[f'rtf_{name}_process']:12.1f}x (target "
            f"{results[f'rtf_{name}_target']:g}x) "
            f"{results[f'rtf_{name}_cold_in_process']:13.1f}x "
            f"{results[f'rtf_{name}_steady']:13.1f}x"
        )
    whisper = [f"{n}: Whisper {results[f'{n}_whisper']}" for n in OFFLINE_MODELS if n != "tiny"]
    lines.append(f"  ({'; '.join(whisper)}; random weights)")
    if "rtf_run_process" in results:
        lines.append(
            f"  the given run, one talkmesh export process: {results['rtf_run_process']:.1f}x"
        )
    lines.append(
        "streaming (20 ms chunks at real-time pace; latency: a frame's last audio sample "
        "arrived → the frame written):"
    )
    rows = [(f"look-ahead {name:>6}", row) for name, row in results["stream"].items()]
    if "stream_whisper_tiny" in results:
        rows.append(("whisper_tiny_stream", results["stream_whisper_tiny"]))
    for label, row in rows:
        latency, diff = row["latency_ms"], row["difference_from_offline"]
        lines.append(
            f"  {label}: latency mean {latency['mean']:5.0f} ms, p95 "
            f"{latency['p95']:5.0f}, max {latency['max']:5.0f}, {latency['late']}/"
            f"{latency['frames']} frames late; {row['rtf_unpaced']:6.1f}x real time unpaced; "
            f"vs offline max {diff['max']:.4f}, mean {diff['mean']:.5f}"
        )
    if "stream_whisper_tiny" in results:
        lines.append(f"  (whisper_tiny_stream: {results['stream_whisper_tiny_context']})")
    for key, value in results.items():
        if key.startswith("memory_") and isinstance(value, dict):
            lines.append(
                f"{key.removeprefix('memory_')} export, one process: peak RSS "
                f"{value['peak_rss_mb']:7.0f} MB, growth while writing {value['growth_mb']:6.1f} "
                f"MB (output {value['output_mb']:.0f} MB)"
            )
    seams = results["seams"]
    lines.append(
        f"seams ({seams['frames']} frames): step at joins max {seams['join_step_max_cm']:.4f} "
        f"(p99 {seams['join_step_p99_cm']:.4f}), elsewhere max {seams['other_step_max_cm']:.4f} "
        f"(p99 {seams['other_step_p99_cm']:.4f})"
    )
    return "\n".join(lines)
