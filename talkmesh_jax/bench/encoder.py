"""`talkmesh bench encoder`: Whisper encoder throughput, ours (JAX) against CTranslate2 (the CPU
engine faster-whisper users run) and the PyTorch reference (`transformers`).

One random-weight checkpoint of a real architecture size is written by CTranslate2 itself
(`whisper/ct2_writer.py`); our encoder reads that directory, and transformers reads its
conversion (`talkmesh whisper convert`), so every engine computes with the same weights. The
input: a batch of `batch_size` windows of `window_seconds` of audio, each padded to Whisper's 30 s
where a method pads (so every padded method does the same encoder work):
  (a) torch_padded   transformers: WhisperFeatureExtractor + encoder on 30 s of padded audio
                     (the original project's way; torch-reference extra, else skipped)
  (b) jax_padded     ours, log-mel + encoder on 30 s of padded audio, jit-compiled
  (c) jax_window     ours on the windows alone
  (g) ct2_log_mel    faster-whisper's log-mel in numpy (`bench/numpy_log_mel.py`), 30 s padded
  (h) ct2_float32    CTranslate2 `encode`, float32, from (g)'s log-mel
  (i) ct2_int8       the same, int8 (CTranslate2 quantizes the float32 weights on load)
  (j) jax_encoder_only  ours from (g)'s log-mel: the encoder alone, as (h) and (i)
(h) and (i) run with `intra_threads` = the CPU count (JAX's CPU client uses every core too); the
CTranslate2 rows are CPU float32 only (skipped when JAX runs elsewhere or in bfloat16). The ratios
`ct2_float32_ratio` and `ct2_int8_ratio` are ours ÷ theirs in audio seconds per second with the
log-mel on both sides ((b) against (g) then (h) or (i), the two rows' times added), and the
`_encoder_only` ratios (j) against (h) or (i). Both of ours keep the positions of the window (250
for 5 s); the others return all 1500.
The attention alone, on q, k, v of the padded encoding's shape ([batch, 1500, heads, 64], same
values, same dtype, on the device on both sides, no transfers):
  (d) torch_attention   torch.nn.functional.scaled_dot_product_attention (its fused kernel)
  (e) jax_attention     ours: `models.attention.attention`, what the encoder calls (on the CPU
                        the C++ kernel through XLA's FFI), jit-compiled
  (f) jax_sliced_attention  (CPU only) ours before the kernel: XLA, one (batch, head) at a time
Like with like: every method is timed from the audio (or log-mel) in host memory to the features
in host memory (transfers to and from the device included); torch computes in the same dtype as
ours (bfloat16 weights and inputs when `dtype` is bfloat16), and float32 matrix products use TF32
on both sides or on neither (`tf32`; JAX's default on GPUs is TF32, torch's is not). Throughput is
audio seconds encoded per second (batch 8 of 5 s windows = 40 s per call). The run also reports
how far (b) is from (a) and (j) from (h) and (i), and how far (c) is from (b) on the window's
positions.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from talkmesh_jax import SAMPLE_RATE, TalkmeshError
from talkmesh_jax.bench.encoder_baselines import (
    CT2_COMPUTE_TYPES,
    cpu_count,
    ct2_calls,
    random_ct2_whisper,
    torch_missing,
    torch_padded_call,
)
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.bench.timing import machine_info, measure_rate
from talkmesh_jax.whisper.ct2_writer import import_ctranslate2
from talkmesh_jax.whisper.encoder import (
    DTYPES,
    WHISPER_SIZES,
    WhisperAudioEncoder,
    WhisperEncoder,
    WhisperEncoderConfig,
    encoder_flops,
)
from talkmesh_jax.whisper.weights import load_whisper_encoder

# Dense peak TFLOP/s by device kind and compute dtype (float32 matmuls run as TF32 on these).
PEAK_TFLOPS = {
    "H100": {"float32": 494.7, "bfloat16": 989.4},
    "H200": {"float32": 494.7, "bfloat16": 989.4},
}


@dataclass(frozen=True)
class EncoderBenchConfig:
    size: str = "tiny"
    batch_size: int = 8
    window_seconds: float = 5.0
    dtype: str = "float32"
    torch_device: str = "cpu"
    tf32: bool = True  # float32 matmuls as TF32 on GPUs, both sides (no effect on CPUs)
    threads: int = 0  # CTranslate2's intra_threads (0: the CPU count, as JAX uses)
    round_seconds: float = 1.0
    rounds: int = 3


def run_encoder_bench(config: EncoderBenchConfig, progress: bool = True) -> dict:
    """Runs the rows of the module docstring; returns the JSON-ready results."""
    if config.size not in WHISPER_SIZES:
        raise TalkmeshError(f"--size must be one of {sorted(WHISPER_SIZES)}, got {config.size!r}")
    import jax

    import_ctranslate2()  # it writes the weights every engine reads
    whisper = WHISPER_SIZES[config.size]
    samples = int(config.window_seconds * SAMPLE_RATE)
    audio = speechlike(config.batch_size, samples)
    skipped = {}
    if (reason := torch_missing()) is not None:
        skipped["torch"] = reason
    if jax.default_backend() != "cpu" or config.dtype != "float32":
        skipped["ctranslate2"] = "CTranslate2 rows: JAX on the CPU in float32 only"
    threads = config.threads or cpu_count()
    bar = tqdm(desc="bench encoder", unit="row", disable=not progress)
    with tempfile.TemporaryDirectory(prefix="talkmesh-whisper-") as tmp:
        bar.set_postfix_str("writing random weights")
        ct2_dir = random_ct2_whisper(whisper, Path(tmp) / "ct2")
        loaded, params = load_whisper_encoder(ct2_dir)
        calls = _jax_calls(config, loaded, params, audio)
        if "ctranslate2" not in skipped:
            ct2, features = ct2_calls(ct2_dir, audio, whisper.num_mel_bins, threads)
            calls |= ct2
            calls["jax_encoder_only"] = _jax_encoder_only(config, loaded, params, features)
        if "torch" not in skipped:
            calls["torch_padded"] = torch_padded_call(
                ct2_dir, Path(tmp), audio, whisper.num_mel_bins, config
            )
        bar.total = len(calls)
        rates, outputs, spreads = {}, {}, {}
        for name, fn in calls.items():
            bar.set_postfix_str(name)
            outputs[name] = np.asarray(fn(), np.float32)
            measured = measure_rate(fn, round_seconds=config.round_seconds, rounds=config.rounds)
            rates[name], spreads[name] = measured["median"], measured
            bar.update()
    bar.close()
    results = _results(config, whisper, rates, outputs, samples, jax.devices()[0])
    results |= {"threads": threads, "skipped": skipped, "rounds_calls_per_s": spreads}
    results["attention"] = _attention_rates(config, whisper, with_torch="torch" not in skipped)
    if jax.default_backend() == "cpu" and "torch" not in skipped:  # the kernel's target
        results["targets"]["jax_attention >= 1.0x torch_attention"] = (
            results["attention"]["jax_vs_torch"] >= 1.0
        )
    return results


def _jax_calls(config: EncoderBenchConfig, loaded, params, audio: np.ndarray) -> dict:
    """(b) and (c): ours from host audio to host features, compiled under the bench's precision."""
    import jax
    import jax.numpy as jnp

    variables = jax.device_put({"params": {"encoder": params}})
    precision = "tensorfloat32" if config.tf32 else "float32"

    def encoder(context: str):
        module = WhisperAudioEncoder(loaded, context=context, dtype=DTYPES[config.dtype])
        with jax.default_matmul_precision(precision):
            apply = jax.jit(module.apply)
            apply(variables, jnp.asarray(audio))  # traced under this precision
        return lambda: np.asarray(apply(variables, jnp.asarray(audio)).astype(jnp.float32))

    return {"jax_padded": encoder("padded"), "jax_window": encoder("window")}


def _jax_encoder_only(config: EncoderBenchConfig, loaded, params, features: np.ndarray):
    """(j): ours from host log-mel [B, mels, 3000] (CTranslate2's layout) to host features."""
    import jax
    import jax.numpy as jnp

    apply = jax.jit(WhisperEncoder(loaded, DTYPES[config.dtype]).apply)
    variables = jax.device_put({"params": params})

    def run() -> np.ndarray:
        mel = jnp.asarray(features).transpose(0, 2, 1)  # ours is time-major
        return np.asarray(apply(variables, mel).astype(jnp.float32))

    return run


def _attention_rates(config: EncoderBenchConfig, whisper: WhisperEncoderConfig, with_torch: bool):
    """(d), (e), (f) of the module docstring: calls/s, ratios and largest difference ((d) only
    `with_torch`)."""
    import jax
    import jax.numpy as jnp

    from talkmesh_jax.whisper.attention import attention, sliced_attention

    heads = whisper.encoder_attention_heads
    shape = (config.batch_size, whisper.max_source_positions, heads, whisper.head_dim)
    qkv_host = np.random.default_rng(0).standard_normal((3, *shape), np.float32)
    scale = whisper.head_dim**-0.5
    dtype = jnp.bfloat16 if config.dtype == "bfloat16" else jnp.float32
    q, k, v = (jnp.asarray(x, dtype) for x in qkv_host)

    def jax_call(fn):
        jitted = jax.jit(lambda q, k, v: fn(q, k, v, scale))
        return lambda: jitted(q, k, v).block_until_ready()

    calls = {"jax_attention": jax_call(attention)}
    if jax.default_backend() == "cpu":
        calls["jax_sliced_attention"] = jax_call(sliced_attention)
    if with_torch:
        calls["torch_attention"] = _torch_attention(config, qkv_host, scale)
    rates = {
        name: measure_rate(fn, round_seconds=config.round_seconds, rounds=config.rounds)["median"]
        for name, fn in calls.items()
    }
    out = {"shape_b_t_h_d": list(shape), "calls_per_s": rates}
    if "jax_sliced_attention" in rates:
        out["jax_vs_sliced"] = rates["jax_attention"] / rates["jax_sliced_attention"]
    if with_torch:
        ours = np.asarray(calls["jax_attention"](), np.float32)
        theirs = calls["torch_attention"]().float().cpu().numpy().transpose(0, 2, 1, 3)
        out["jax_vs_torch"] = rates["jax_attention"] / rates["torch_attention"]
        out["max_abs_diff_jax_vs_torch"] = float(np.abs(ours - theirs).max())
    return out


def _torch_attention(config: EncoderBenchConfig, qkv_host: np.ndarray, scale: float):
    """(d): torch's fused attention on the same q, k, v, on its device in the bench's dtype."""
    import torch

    dtype = torch.bfloat16 if config.dtype == "bfloat16" else torch.float32
    tq, tk, tv = (
        torch.from_numpy(x.transpose(0, 2, 1, 3).copy()).to(config.torch_device, dtype)
        for x in qkv_host
    )

    def run() -> torch.Tensor:
        with torch.no_grad():
            out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, scale=scale)
        if out.is_cuda:
            torch.cuda.synchronize()
        return out

    return run


def _max_diff(a: np.ndarray, b: np.ndarray, keep: int) -> float:
    return float(np.abs(a[:, :keep] - b[:, :keep]).max())


def _results(config, whisper, rates, outputs, samples, device) -> dict:
    audio_seconds = config.batch_size * config.window_seconds
    padded = outputs["jax_padded"]
    keep = outputs["jax_window"].shape[1]
    window_diff = np.abs(outputs["jax_window"] - padded[:, :keep])
    out = {
        "config": asdict(config),
        "whisper": whisper.as_dict(),
        "machine": machine_info(),
        "jax_device": f"{device.platform} ({device.device_kind})",
        "window_vs_padded_max_abs_diff": float(window_diff.max()),
        "window_vs_padded_rel_rms": float(
            np.sqrt((window_diff**2).mean() / (padded[:, :keep] ** 2).mean())
        ),
    }
    for name, rate in rates.items():
        out[f"{name}_audio_s_per_s"] = rate * audio_seconds
    flops_padded = config.batch_size * encoder_flops(whisper, 3000)
    out["jax_padded_tflops"] = flops_padded * rates["jax_padded"] / 1e12
    out["jax_window_tflops"] = (
        config.batch_size * encoder_flops(whisper, samples // 160) * rates["jax_window"] / 1e12
    )
    peak = next((p for kind, p in PEAK_TFLOPS.items() if kind in device.device_kind), None)
    if peak is not None:
        out["peak_tflops"] = peak[config.dtype]
        out["jax_padded_fraction_of_peak"] = out["jax_padded_tflops"] / peak[config.dtype]
    out["targets"] = {}
    if "torch_padded" in rates:
        out["padded_max_abs_diff_jax_vs_torch"] = _max_diff(padded, outputs["torch_padded"], keep)
        out["jax_padded_vs_torch"] = rates["jax_padded"] / rates["torch_padded"]
        out["jax_window_vs_torch"] = rates["jax_window"] / rates["torch_padded"]
        out["targets"]["jax_padded >= 1.0x torch_padded"] = out["jax_padded_vs_torch"] >= 1.0
        out["targets"]["jax_window >= 5x torch_padded"] = out["jax_window_vs_torch"] >= 5.0
    if "ct2_float32" in rates:
        out |= _ct2_ratios(rates, outputs, audio_seconds, keep)
        out["targets"]["ct2_float32_ratio >= 1.0"] = out["ct2_float32_ratio"] >= 1.0
    return out


def _ct2_ratios(rates: dict, outputs: dict, audio_seconds: float, keep: int) -> dict:
    """Ours ÷ CTranslate2 with the log-mel on both sides (their two rows' times added) and for
    the encoder alone; how far ours is from theirs on the same log-mel, and (b) from (h) on the
    window's `keep` positions."""
    out = {}
    for kind in CT2_COMPUTE_TYPES:
        with_log_mel = 1.0 / (1.0 / rates["ct2_log_mel"] + 1.0 / rates[f"ct2_{kind}"])
        out[f"ct2_{kind}_with_log_mel_audio_s_per_s"] = with_log_mel * audio_seconds
        out[f"ct2_{kind}_ratio"] = rates["jax_padded"] / with_log_mel
        out[f"ct2_{kind}_ratio_encoder_only"] = rates["jax_encoder_only"] / rates[f"ct2_{kind}"]
        out[f"encoder_only_max_abs_diff_jax_vs_ct2_{kind}"] = _max_diff(
            outputs["jax_encoder_only"], outputs[f"ct2_{kind}"], 1500
        )
    out["padded_max_abs_diff_jax_vs_ct2_float32"] = _max_diff(
        outputs["jax_padded"], outputs["ct2_float32"], keep
    )
    return out


def format_table(results: dict) -> str:
    cfg = results["config"]
    has_torch = "torch_padded_audio_s_per_s" in results
    lines = [
        f"Whisper-{cfg['size']} encoder (random weights), batch {cfg['batch_size']} x "
        f"{cfg['window_seconds']:g} s, {cfg['dtype']} on every side, TF32 "
        f"{'on' if cfg.get('tf32', True) else 'off'} (both sides), JAX on {results['jax_device']}"
        + (f", torch on {cfg['torch_device']}" if has_torch else "")
        + "; host audio in, host features out",
        f"{'method':46s} {'audio s/s':>10s} {'vs torch':>9s} {'TFLOP/s':>8s}",
    ]
    rows = [
        ("(a) torch, 30 s padded (original)", "torch_padded", None),
        ("(b) ours, 30 s padded", "jax_padded", "jax_padded_tflops"),
        (f"(c) ours, {cfg['window_seconds']:g} s windows", "jax_window", "jax_window_tflops"),
    ]
    for label, key, flops in rows:
        if f"{key}_audio_s_per_s" not in results:
            continue
        rate = results[f"{key}_audio_s_per_s"]
        ratio = f"{rate / results['torch_padded_audio_s_per_s']:8.2f}x" if has_torch else " " * 9
        tflops = f"{results[flops]:8.2f}" if flops else f"{'':8s}"
        lines.append(f"{label:46s} {rate:10.1f} {ratio} {tflops}")
    if "peak_tflops" in results:
        lines.append(
            f"(b) is {100 * results['jax_padded_fraction_of_peak']:.1f} % of the "
            f"{results['peak_tflops']:g} TFLOP/s peak"
        )
    lines += _ct2_lines(results) + _attention_lines(results)
    if has_torch:
        lines.append(f"max |(b) - (a)| = {results['padded_max_abs_diff_jax_vs_torch']:.2e}")
    lines.append(
        f"(c) vs (b) on the window: max {results['window_vs_padded_max_abs_diff']:.3f}, "
        f"relative RMS {results['window_vs_padded_rel_rms']:.3f}"
    )
    for what, why in results.get("skipped", {}).items():
        lines.append(f"skipped {what}: {why}")
    for target, met in results["targets"].items():
        lines.append(f"target {target}: {'met' if met else 'NOT met'}")
    return "\n".join(lines)


def _ct2_lines(results: dict) -> list[str]:
    if "ct2_float32_ratio" not in results:
        return []
    library = results["machine"]["libraries"].get("ctranslate2", "")
    lines = [f"CTranslate2 {library}, {results['threads']} threads, the same 30 s padded input:"]
    rows = [
        ("(g) faster-whisper's numpy log-mel", "ct2_log_mel"),
        ("(h) CTranslate2 float32, encode", "ct2_float32"),
        ("(i) CTranslate2 int8, encode", "ct2_int8"),
        ("(j) ours, encoder only (from (g)'s log-mel)", "jax_encoder_only"),
    ]
    for label, key in rows:
        lines.append(f"{label:46s} {results[f'{key}_audio_s_per_s']:10.1f}")
    for kind in CT2_COMPUTE_TYPES:
        lines.append(
            f"ours / CTranslate2 {kind}: {results[f'ct2_{kind}_ratio']:.2f}x with the log-mel "
            f"((b) vs (g)+({'h' if kind == 'float32' else 'i'})), "
            f"{results[f'ct2_{kind}_ratio_encoder_only']:.2f}x encoder only; "
            f"max |(j) - theirs| = {results[f'encoder_only_max_abs_diff_jax_vs_ct2_{kind}']:.2e}"
        )
    return lines


def _attention_lines(results: dict) -> list[str]:
    if "attention" not in results:  # results of an older version
        return []
    att = results["attention"]
    rates = att["calls_per_s"]
    base = "torch_attention" if "torch_attention" in rates else "jax_sliced_attention"
    if base not in rates:
        return []
    lines = [
        f"attention alone, q/k/v {att['shape_b_t_h_d']}     {'calls/s':>10s} "
        f"{'vs ' + ('torch' if base == 'torch_attention' else '(f)'):>9s}"
    ]
    rows = [
        ("(d) torch scaled_dot_product_attention", "torch_attention"),
        ("(e) ours (what the encoder calls)", "jax_attention"),
        ("(f) ours before: XLA, one (batch, head)", "jax_sliced_attention"),
    ]
    for label, key in rows:
        if key in rates:
            lines.append(f"{label:46s} {rates[key]:10.2f} {rates[key] / rates[base]:8.2f}x")
    if "max_abs_diff_jax_vs_torch" in att:
        lines.append(f"max |(e) - (d)| = {att['max_abs_diff_jax_vs_torch']:.2e}")
    return lines
