"""`talkmesh bench encoder`: Whisper encoder throughput, ours (JAX) against the PyTorch reference.

One random-weight checkpoint of a real architecture size is made with `transformers` (PyTorch),
saved, and loaded into the Flax encoder, so both sides compute with the same weights:
  (a) torch_padded   transformers: WhisperFeatureExtractor + encoder on 30 s of padded audio
                     (the original project's way)
  (b) jax_padded     ours, log-mel + encoder on 30 s of padded audio, jit-compiled
  (c) jax_window     ours on the 5 s windows alone
Both of ours keep the positions of the window (250 for 5 s); (a) returns all 1500.
The attention alone, on q, k, v of the padded encoding's shape ([batch, 1500, heads, 64], same
values, same dtype, on the device on both sides, no transfers):
  (d) torch_attention   torch.nn.functional.scaled_dot_product_attention (its fused kernel)
  (e) jax_attention     ours: `models.attention.attention`, what the encoder calls (on the CPU
                        the C++ kernel through XLA's FFI), jit-compiled
  (f) jax_sliced_attention  (CPU only) ours before the kernel: XLA, one (batch, head) at a time
Like with like: every method is timed from the audio in host memory to the features in host
memory (transfers to and from the device included); torch computes in the same dtype as ours
(bfloat16 weights and inputs when `dtype` is bfloat16), and float32 matrix products use TF32 on
both sides or on neither (`tf32`; JAX's default on GPUs is TF32, torch's is not). Throughput is
audio seconds encoded per second (batch 8 of 5 s windows = 40 s per call). The run also reports
how far (b) is from (a) and how far (c) is from (b) on the window's positions.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from talkmesh_jax import SAMPLE_RATE, TalkmeshError
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.bench.timing import machine_info, measure_rate
from talkmesh_jax.whisper.encoder import WHISPER_SIZES, WhisperEncoderConfig, encoder_flops

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
    round_seconds: float = 1.0
    rounds: int = 3


def run_encoder_bench(config: EncoderBenchConfig, progress: bool = True) -> dict:
    """Runs (a), (b), (c); returns the JSON-ready results (see module docstring)."""
    if config.size not in WHISPER_SIZES:
        raise TalkmeshError(f"--size must be one of {sorted(WHISPER_SIZES)}, got {config.size!r}")
    import jax
    import jax.numpy as jnp
    import torch
    from transformers import WhisperFeatureExtractor

    from talkmesh_jax.whisper.encoder import DTYPES, WhisperAudioEncoder
    from talkmesh_jax.whisper.weights import load_whisper_encoder

    bar = tqdm(total=4, desc="bench encoder", unit="step", disable=not progress)
    whisper = WHISPER_SIZES[config.size]
    samples = int(config.window_seconds * SAMPLE_RATE)
    audio = speechlike(config.batch_size, samples)
    torch.backends.cuda.matmul.allow_tf32 = config.tf32
    torch.backends.cudnn.allow_tf32 = config.tf32
    torch_dtype = torch.bfloat16 if config.dtype == "bfloat16" else torch.float32
    torch_model = _random_torch_whisper(whisper)
    with tempfile.TemporaryDirectory(prefix="talkmesh-whisper-") as tmp:
        torch_model.save_pretrained(tmp)
        loaded, params = load_whisper_encoder(tmp)
    torch_model = torch_model.to(config.torch_device, dtype=torch_dtype)
    variables = jax.device_put({"params": {"encoder": params}})
    precision = "tensorfloat32" if config.tf32 else "float32"
    extractor = WhisperFeatureExtractor(feature_size=whisper.num_mel_bins)
    bar.update()

    def torch_padded() -> np.ndarray:
        feats = extractor(list(audio), sampling_rate=SAMPLE_RATE, return_tensors="pt")
        inputs = feats.input_features.to(config.torch_device, dtype=torch_dtype)
        with torch.no_grad():
            hidden = torch_model.encoder(inputs)
        return hidden.last_hidden_state.float().cpu().numpy()

    def jax_encoder(pad_to_30s: bool):
        context = "padded" if pad_to_30s else "window"
        module = WhisperAudioEncoder(loaded, context=context, dtype=DTYPES[config.dtype])
        with jax.default_matmul_precision(precision):
            apply = jax.jit(module.apply)
            apply(variables, jnp.asarray(audio))  # traced under this precision

        def run() -> np.ndarray:  # host audio in, host features out, as (a)
            return np.asarray(apply(variables, jnp.asarray(audio)).astype(jnp.float32))

        return run

    calls = {
        "torch_padded": torch_padded,
        "jax_padded": jax_encoder(True),
        "jax_window": jax_encoder(False),
    }
    rates, outputs, spreads = {}, {}, {}
    for name, fn in calls.items():
        bar.set_postfix_str(name)
        outputs[name] = np.asarray(fn(), np.float32)
        measured = measure_rate(fn, round_seconds=config.round_seconds, rounds=config.rounds)
        rates[name], spreads[name] = measured["median"], measured
        bar.update()
    bar.close()
    keep = outputs["jax_window"].shape[1]
    results = _results(config, whisper, rates, outputs, keep, samples, jax.devices()[0])
    results["rounds_calls_per_s"] = spreads
    results["attention"] = _attention_rates(config, whisper, torch_dtype)
    if jax.default_backend() == "cpu":  # the kernel's target; GPUs have their own
        results["targets"]["jax_attention >= 1.0x torch_attention"] = (
            results["attention"]["jax_vs_torch"] >= 1.0
        )
    return results


def _attention_rates(config: EncoderBenchConfig, whisper: WhisperEncoderConfig, torch_dtype):
    """(d), (e), (f) of the module docstring: calls/s, their ratio and largest difference."""
    import jax
    import jax.numpy as jnp
    import torch

    from talkmesh_jax.whisper.attention import attention, sliced_attention

    heads = whisper.encoder_attention_heads
    shape = (config.batch_size, whisper.max_source_positions, heads, whisper.head_dim)
    qkv_host = np.random.default_rng(0).standard_normal((3, *shape), np.float32)
    scale = whisper.head_dim**-0.5
    dtype = jnp.bfloat16 if config.dtype == "bfloat16" else jnp.float32
    q, k, v = (jnp.asarray(x, dtype) for x in qkv_host)
    tq, tk, tv = (
        torch.from_numpy(x.transpose(0, 2, 1, 3).copy()).to(config.torch_device, torch_dtype)
        for x in qkv_host
    )

    def torch_attention() -> torch.Tensor:
        with torch.no_grad():
            out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, scale=scale)
        if out.is_cuda:
            torch.cuda.synchronize()
        return out

    def jax_call(fn):
        jitted = jax.jit(lambda q, k, v: fn(q, k, v, scale))
        return lambda: jitted(q, k, v).block_until_ready()

    calls = {"torch_attention": torch_attention, "jax_attention": jax_call(attention)}
    if jax.default_backend() == "cpu":
        calls["jax_sliced_attention"] = jax_call(sliced_attention)
    rates = {
        name: measure_rate(fn, round_seconds=config.round_seconds, rounds=config.rounds)["median"]
        for name, fn in calls.items()
    }
    ours = np.asarray(calls["jax_attention"](), np.float32)
    theirs = torch_attention().float().cpu().numpy().transpose(0, 2, 1, 3)
    return {
        "shape_b_t_h_d": list(shape),
        "calls_per_s": rates,
        "jax_vs_torch": rates["jax_attention"] / rates["torch_attention"],
        "max_abs_diff_jax_vs_torch": float(np.abs(ours - theirs).max()),
    }


def hf_whisper_config(whisper: WhisperEncoderConfig):
    """A `transformers.WhisperConfig` with this encoder and a minimal decoder (random models)."""
    from transformers import WhisperConfig

    return WhisperConfig(
        **whisper.as_dict(),
        decoder_layers=1,
        decoder_attention_heads=whisper.encoder_attention_heads,
        decoder_ffn_dim=whisper.encoder_ffn_dim,
        vocab_size=64,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )


def _random_torch_whisper(whisper: WhisperEncoderConfig):
    import torch
    from transformers import WhisperModel

    torch.manual_seed(0)
    return WhisperModel(hf_whisper_config(whisper)).eval()


def _results(config, whisper, rates, outputs, keep, samples, device) -> dict:
    audio_seconds = config.batch_size * config.window_seconds
    padded = outputs["jax_padded"]
    window_diff = np.abs(outputs["jax_window"] - padded[:, :keep])
    out = {
        "config": asdict(config),
        "whisper": whisper.as_dict(),
        "machine": machine_info(),
        "jax_device": f"{device.platform} ({device.device_kind})",
        "padded_max_abs_diff_jax_vs_torch": float(
            np.abs(padded - outputs["torch_padded"][:, :keep]).max()
        ),
        "window_vs_padded_max_abs_diff": float(window_diff.max()),
        "window_vs_padded_rel_rms": float(
            np.sqrt((window_diff**2).mean() / (padded[:, :keep] ** 2).mean())
        ),
    }
    for name, rate in rates.items():
        out[f"{name}_audio_s_per_s"] = rate * audio_seconds
    out["jax_padded_vs_torch"] = rates["jax_padded"] / rates["torch_padded"]
    out["jax_window_vs_torch"] = rates["jax_window"] / rates["torch_padded"]
    flops_padded = config.batch_size * encoder_flops(whisper, 3000)
    out["jax_padded_tflops"] = flops_padded * rates["jax_padded"] / 1e12
    out["jax_window_tflops"] = (
        config.batch_size * encoder_flops(whisper, samples // 160) * rates["jax_window"] / 1e12
    )
    peak = next((p for kind, p in PEAK_TFLOPS.items() if kind in device.device_kind), None)
    if peak is not None:
        out["peak_tflops"] = peak[config.dtype]
        out["jax_padded_fraction_of_peak"] = out["jax_padded_tflops"] / peak[config.dtype]
    out["targets"] = {
        "jax_padded >= 1.0x torch_padded": out["jax_padded_vs_torch"] >= 1.0,
        "jax_window >= 5x torch_padded": out["jax_window_vs_torch"] >= 5.0,
    }
    return out


def format_table(results: dict) -> str:
    cfg = results["config"]
    lines = [
        f"Whisper-{cfg['size']} encoder (random weights), batch {cfg['batch_size']} x "
        f"{cfg['window_seconds']:g} s, {cfg['dtype']} on both sides, TF32 "
        f"{'on' if cfg.get('tf32', True) else 'off'} on both, JAX on {results['jax_device']}, "
        f"torch on {cfg['torch_device']}; host audio in, host features out",
        f"{'method':44s} {'audio s/s':>10s} {'vs torch':>9s} {'TFLOP/s':>8s}",
    ]
    rows = [
        ("(a) torch, 30 s padded (original)", "torch_padded", None),
        ("(b) ours, 30 s padded", "jax_padded", "jax_padded_tflops"),
        (f"(c) ours, {cfg['window_seconds']:g} s windows", "jax_window", "jax_window_tflops"),
    ]
    for label, key, flops in rows:
        rate = results[f"{key}_audio_s_per_s"]
        ratio = rate / results["torch_padded_audio_s_per_s"]
        tflops = f"{results[flops]:8.2f}" if flops else f"{'':8s}"
        lines.append(f"{label:44s} {rate:10.1f} {ratio:8.2f}x {tflops}")
    if "peak_tflops" in results:
        lines.append(
            f"(b) is {100 * results['jax_padded_fraction_of_peak']:.1f} % of the "
            f"{results['peak_tflops']:g} TFLOP/s peak"
        )
    lines += _attention_lines(results)
    lines.append(
        f"max |(b) - (a)| = {results['padded_max_abs_diff_jax_vs_torch']:.2e}; "
        f"(c) vs (b) on the window: max {results['window_vs_padded_max_abs_diff']:.3f}, "
        f"relative RMS {results['window_vs_padded_rel_rms']:.3f}"
    )
    for target, met in results["targets"].items():
        lines.append(f"target {target}: {'met' if met else 'NOT met'}")
    return "\n".join(lines)


def _attention_lines(results: dict) -> list[str]:
    if "attention" not in results:  # results of an older version
        return []
    att = results["attention"]
    rates = att["calls_per_s"]
    lines = [f"attention alone, q/k/v {att['shape_b_t_h_d']}   {'calls/s':>10s} {'vs torch':>9s}"]
    rows = [
        ("(d) torch scaled_dot_product_attention", "torch_attention"),
        ("(e) ours (what the encoder calls)", "jax_attention"),
        ("(f) ours before: XLA, one (batch, head)", "jax_sliced_attention"),
    ]
    for label, key in rows:
        if key in rates:
            ratio = rates[key] / rates["torch_attention"]
            lines.append(f"{label:44s} {rates[key]:10.2f} {ratio:8.2f}x")
    lines.append(f"max |(e) - (d)| = {att['max_abs_diff_jax_vs_torch']:.2e}")
    return lines
