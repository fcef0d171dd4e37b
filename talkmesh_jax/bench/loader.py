"""`talkmesh bench loader`: throughput of the windowed batcher against its baselines.

Measured on one generated dataset (random audio and landmarks of realistic size, packed to disk
and memory-mapped), all in one run so that the ratios are meaningful on a noisy machine:
  memcpy        plain contiguous copy of the same bytes per batch (the bytes-moved bound)
  cpp           the C++ batcher filling preallocated buffers, 1 thread and all cores
  numpy         the pure-numpy reference (same output)
  grain         the Grain pipeline (C++ batcher, all cores, background prefetch)
  grain_to_device  the same, each batch then placed on the first JAX device (GPU when present)
  cpp_logmel    the all-cores C++ batcher, then the batch's audio to the first JAX device and its
                log-mel there (jit-compiled, of the window as the model computes it): batching
                plus the features the original computed, on the device that computes them now
  seed_slicing  the original's per-item numpy slicing alone (no features): what its loader costs
                without the feature extractor
  seed_style    the original project's way: per-item numpy slicing, then
                transformers.WhisperFeatureExtractor (30 s padded log-mel) on each window; it
                computes with torch on all cores when torch is installed, else with numpy, so it
                is compared with the all-cores batcher (same CPU budget). Without transformers
                (it is in the torch-reference extra) the same log-mel is computed by
                `bench/numpy_log_mel.py` (faster-whisper's numpy way); `seed_style_backend` says
                which ran
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from talkmesh_jax import SAMPLE_RATE, SAMPLES_PER_FRAME, TalkmeshError
from talkmesh_jax._batcher import row_bytes
from talkmesh_jax.bench.timing import calls_per_second, machine_info
from talkmesh_jax.data.packed import PackedClips, concatenate_clips, load_packed, write_packed
from talkmesh_jax.data.pipeline import make_pipeline
from talkmesh_jax.data.reference import NumpyWindowBatcher
from talkmesh_jax.data.windows import WindowSpec, create_batcher

TARGET_CPP_VS_MEMCPY = 0.5  # one thread
TARGET_CPP_VS_SEED_STYLE = 50.0


@dataclass(frozen=True)
class LoaderBenchConfig:
    minutes: float = 30.0  # of audio in the generated dataset
    num_vertices: int = 478
    batch_size: int = 8
    window_frames: int = 125
    stride_frames: int = 25
    threads: int = 0  # "all cores" thread count; 0 = os.cpu_count()
    round_seconds: float = 0.25
    seed: int = 0
    data: str | None = None  # a packed dataset directory to use instead of generated data


def generate_clips(minutes: float, num_vertices: int, seed: int = 0) -> PackedClips:
    """Random clips of 20–120 s totalling `minutes`, with short invalid stretches."""
    rng = np.random.default_rng(seed)
    total_frames = int(minutes * 60 * 25)
    lengths = []
    while sum(lengths) < total_frames:
        lengths.append(int(min(rng.integers(500, 3000), total_frames - sum(lengths))))
    audios, landmarks, valids = [], [], []
    for n in lengths:
        audios.append(0.1 * rng.standard_normal(n * SAMPLES_PER_FRAME, dtype=np.float32))
        landmarks.append(rng.standard_normal((n, num_vertices, 3), dtype=np.float32))
        valid = np.ones(n, bool)
        for start in rng.integers(0, n, size=max(1, n // 500)):
            valid[start : start + rng.integers(5, 50)] = False
        valids.append(valid)
    return concatenate_clips(audios, landmarks, valids, coordinate_frame="random")


def run_loader_bench(config: LoaderBenchConfig, progress: bool = True) -> dict:
    """Runs every measurement; returns the JSON-ready results (see module docstring)."""
    threads = config.threads or os.cpu_count() or 1
    spec = WindowSpec(
        window_frames=config.window_frames,
        stride_frames=config.stride_frames,
        batch_size=config.batch_size,
        jitter=True,
        seed=config.seed,
    )
    bar = tqdm(total=10, desc="bench loader", unit="step", disable=not progress)
    with tempfile.TemporaryDirectory(prefix="talkmesh-bench-") as tmp:
        bar.set_postfix_str("loading data" if config.data else "generating data")
        clips = _bench_clips(config, Path(tmp))
        bar.update()
        rates = _measure_all(clips, spec, threads, config.round_seconds, bar)
        dataset = {
            "source": config.data or "generated",
            "minutes": len(clips.audio) / clips.sample_rate / 60,
            "num_vertices": clips.num_vertices,
            "bytes": clips.nbytes,
            "windows_per_epoch": create_batcher(clips, spec, num_threads=1).num_windows(0),
        }
    bar.close()
    return _results(config, threads, rates, dataset)


def _bench_clips(config: LoaderBenchConfig, tmp: Path) -> PackedClips:
    """The packed dataset to measure on: the user's, or generated and packed into `tmp`."""
    need = 2 * config.batch_size * config.window_frames  # frames; the memcpy bound copies a batch
    if config.data:
        clips = load_packed(config.data)
        if clips.num_frames < need:
            raise TalkmeshError(
                f"{config.data}: {clips.num_frames} frames, the benchmark needs at least {need}"
            )
        return clips
    if config.minutes * 60 * 25 < need:
        raise TalkmeshError(
            f"--minutes {config.minutes:g} is too small: the dataset must hold two batches "
            f"({need / 1500:.2f} minutes at batch size {config.batch_size})"
        )
    write_packed(generate_clips(config.minutes, config.num_vertices, config.seed), tmp / "packed")
    return load_packed(tmp / "packed")


def _measure_all(clips: PackedClips, spec: WindowSpec, threads: int, round_s: float, bar) -> dict:
    """Windows/s of each method (dict keyed by method name)."""
    b = spec.batch_size
    rates: dict[str, float] = {}

    def step(name: str, fn, windows_per_call: int) -> None:
        bar.set_postfix_str(name)
        rates[name] = windows_per_call * calls_per_second(fn, round_seconds=round_s)
        bar.update()

    step("memcpy", _memcpy_batch(clips, spec), b)
    for name, n in (("cpp_1_thread", 1), ("cpp_all_cores", threads)):
        step(name, _cpp_fill(create_batcher(clips, spec, num_threads=n)), b)
    step("numpy", _cycle(NumpyWindowBatcher(clips, spec)), b)
    pipeline = iter(
        make_pipeline(create_batcher(clips, spec, num_threads=threads), shard=(0, 1), prefetch=4)
    )
    step("grain", lambda: next(pipeline), b)
    step("grain_to_device", _to_device(clips, spec, threads), b)
    step("cpp_logmel", _with_logmel(create_batcher(clips, spec, num_threads=threads)), b)
    step("seed_slicing", _seed_style_item(clips, spec, features=False), 1)
    step("seed_style", _seed_style_item(clips, spec), 1)
    return rates


def _with_logmel(batcher):
    """Batches from the C++ batcher, their audio put on the device and turned into log-mel."""
    import jax

    from talkmesh_jax.whisper.log_mel import log_mel_spectrogram

    device = jax.devices()[0]
    mel = jax.jit(log_mel_spectrogram)
    positions = _batch_positions(batcher)

    def run() -> None:
        audio = batcher.get_batch(*next(positions))["audio"]
        jax.block_until_ready(mel(jax.device_put(audio, device)))

    run()  # compile outside the timed rounds
    return run


def _to_device(clips: PackedClips, spec: WindowSpec, threads: int):
    """Grain batches copied to the first JAX device and waited for."""
    import jax

    device = jax.devices()[0]
    batches = iter(
        make_pipeline(create_batcher(clips, spec, num_threads=threads), shard=(0, 1), prefetch=4)
    )
    return lambda: jax.block_until_ready(jax.device_put(next(batches), device))


def seed_style_backend() -> str:
    """Which feature extractor the seed_style row runs here, and on what."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        return "numpy log-mel, faster-whisper style (transformers not installed)"
    try:
        import torch
    except ImportError:
        return "transformers WhisperFeatureExtractor, numpy"
    return f"transformers WhisperFeatureExtractor, torch ({torch.get_num_threads()} threads)"


def _seed_style_features():
    """audio [S] → Whisper's 30 s padded log-mel, as `seed_style_backend` says."""
    try:
        from transformers import WhisperFeatureExtractor
    except ImportError:
        from talkmesh_jax.bench.numpy_log_mel import numpy_log_mel
        from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES

        return lambda audio: numpy_log_mel(audio, 80, WHISPER_SAMPLES, tail_zeros=0)
    extractor = WhisperFeatureExtractor()  # 80 mel bins, pads to 30 s
    return lambda audio: extractor(audio, sampling_rate=SAMPLE_RATE, return_tensors="np")


def device_name() -> str:
    import jax

    device = jax.devices()[0]
    return f"{device.platform} ({device.device_kind})"


def _memcpy_batch(clips: PackedClips, spec: WindowSpec):
    """One batch's bytes copied contiguously from random places: the bound on any batcher."""
    rng = np.random.default_rng(1)
    rows = spec.batch_size * spec.window_frames
    audio = np.empty(rows * SAMPLES_PER_FRAME, np.float32)
    landmarks = np.empty((rows, clips.num_vertices, 3), np.float32)
    mask = np.empty(rows, bool)

    def copy() -> None:
        a0 = rng.integers(0, len(clips.audio) - len(audio))
        f0 = rng.integers(0, clips.num_frames - rows)
        np.copyto(audio, clips.audio[a0 : a0 + len(audio)])
        np.copyto(landmarks, clips.landmarks[f0 : f0 + rows])
        np.copyto(mask, clips.valid[f0 : f0 + rows])

    return copy


def _batch_positions(batcher):
    """(epoch, batch) of every batch, epoch after epoch, forever."""
    epoch = 0
    while True:
        for batch in range(batcher.num_batches(epoch)):
            yield epoch, batch
        epoch += 1


def _cpp_fill(batcher):
    """Fills preallocated buffers with consecutive batches."""
    b, w, v = batcher.batch_size, batcher.window_frames, batcher.num_vertices
    out = (
        np.empty((b, w * batcher.samples_per_frame), np.float32),
        np.empty((b, w, v, 3), np.float32),
        np.empty((b, w), bool),
        np.empty(b, np.int64),
        np.empty(b, np.int64),
    )
    positions = _batch_positions(batcher)
    return lambda: batcher.fill_batch(*next(positions), *out)


def _cycle(batcher):
    """Makes consecutive batches as new arrays (get_batch)."""
    positions = _batch_positions(batcher)
    return lambda: batcher.get_batch(*next(positions))


def _seed_style_item(clips: PackedClips, spec: WindowSpec, features: bool = True):
    """The original Dataset.__getitem__: slice one window, then (with `features`) Whisper's 30 s
    feature extractor."""
    features_of = _seed_style_features()
    windows = NumpyWindowBatcher(clips, spec).windows(0)
    w = spec.window_frames
    index = [0]

    def item() -> None:
        clip, start = windows[index[0] % len(windows)]
        index[0] += 1
        a0 = clips.audio_offsets[clip] + start * SAMPLES_PER_FRAME
        f0 = clips.frame_offsets[clip] + start
        audio = np.array(clips.audio[a0 : a0 + w * SAMPLES_PER_FRAME])
        _ = np.array(clips.landmarks[f0 : f0 + w])
        if features:
            features_of(audio)

    return item


def _results(config: LoaderBenchConfig, threads: int, rates: dict, dataset: dict) -> dict:
    window_bytes = row_bytes(config.window_frames, SAMPLES_PER_FRAME, dataset["num_vertices"])
    out = {
        "config": asdict(config),
        "dataset": dataset,
        "threads_all_cores": threads,
        "machine": machine_info(),
        "jax_device": device_name(),
        "bytes_per_window": window_bytes,
    }
    for name, rate in rates.items():
        out[f"{name}_windows_per_s"] = rate
        out[f"{name}_gbps"] = rate * window_bytes / 1e9
    # Headline keys (the one-thread C++ batcher is "cpp").
    out["cpp_windows_per_s"] = rates["cpp_1_thread"]
    out["cpp_gbps"] = out["cpp_1_thread_gbps"]
    out["seed_style_backend"] = seed_style_backend()
    out["cpp_vs_memcpy"] = rates["cpp_1_thread"] / rates["memcpy"]  # both one thread
    out["cpp_vs_numpy"] = rates["cpp_1_thread"] / rates["numpy"]  # both one thread, same output
    out["cpp_vs_seed_slicing"] = rates["cpp_1_thread"] / rates["seed_slicing"]  # no features
    out["cpp_logmel_vs_seed_style"] = rates["cpp_logmel"] / rates["seed_style"]  # with features
    out["cpp_1_thread_vs_seed_style"] = rates["cpp_1_thread"] / rates["seed_style"]
    out["cpp_vs_seed_style"] = rates["cpp_all_cores"] / rates["seed_style"]  # both all cores
    out["targets"] = {
        f"cpp_vs_memcpy >= {TARGET_CPP_VS_MEMCPY} (1 thread)": out["cpp_vs_memcpy"]
        >= TARGET_CPP_VS_MEMCPY,
        f"cpp_vs_seed_style >= {TARGET_CPP_VS_SEED_STYLE} (all cores)": out["cpp_vs_seed_style"]
        >= TARGET_CPP_VS_SEED_STYLE,
    }
    return out


def format_table(results: dict) -> str:
    """A table a person reads: rate, bandwidth and ratios to the two baselines."""
    cfg, data = results["config"], results["dataset"]
    rows = [
        ("memcpy bound (1 thread)", "memcpy"),
        ("C++ batcher, 1 thread", "cpp_1_thread"),
        (f"C++ batcher, {results['threads_all_cores']} threads", "cpp_all_cores"),
        ("numpy reference", "numpy"),
        ("Grain pipeline (C++, all cores)", "grain"),
        (f"Grain + device_put to {results['jax_device'].split()[0]}", "grain_to_device"),
        (f"C++ all cores + log-mel on {results['jax_device'].split()[0]}", "cpp_logmel"),
        ("original: per-window slicing alone", "seed_slicing"),
        (f"original: slice + feature extractor, {results['seed_style_backend']}", "seed_style"),
    ]
    lines = [
        f"dataset: {data['source']}, {data['minutes']:.0f} min, {data['num_vertices']} landmarks, "
        f"{data['bytes'] / 1e6:.0f} MB; batch {cfg['batch_size']} x "
        f"{cfg['window_frames']} frames ({results['bytes_per_window'] / 1e6:.2f} MB/window)",
        f"{'method':56s} {'windows/s':>11s} {'GB/s':>7s} {'vs memcpy':>10s} {'vs numpy':>9s}",
    ]
    for label, key in rows:
        rate = results[f"{key}_windows_per_s"]
        lines.append(
            f"{label:56s} {rate:11.1f} {results[f'{key}_gbps']:7.2f} "
            f"{rate / results['memcpy_windows_per_s']:10.2f} "
            f"{rate / results['numpy_windows_per_s']:9.2f}"
        )
    lines += [
        f"C++ 1 thread / numpy reference (same output): {results['cpp_vs_numpy']:.2f}x; / copy "
        f"bound: {results['cpp_vs_memcpy']:.2f}",
        f"C++ 1 thread / original slicing alone (no features): "
        f"{results['cpp_vs_seed_slicing']:.1f}x",
        f"C++ + device log-mel / original slicing + feature extractor: "
        f"{results['cpp_logmel_vs_seed_style']:.1f}x; C++ all cores alone / the same: "
        f"{results['cpp_vs_seed_style']:.1f}x (features not computed)",
    ]
    for target, met in results["targets"].items():
        lines.append(f"target {target}: {'met' if met else 'NOT met'}")
    return "\n".join(lines)
