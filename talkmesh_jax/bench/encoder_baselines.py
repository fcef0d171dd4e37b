"""The baselines `bench encoder` times against our encoder, each a callable from host audio (or
host log-mel) to host features, on the same weights as ours:

  CTranslate2 (faster-whisper's engine), float32 and int8 (quantized by CTranslate2 when it loads
  the float32 directory, as faster-whisper's `compute_type="int8"` does), `intra_threads` = the
  CPU count, fed log-mel computed the way faster-whisper computes it (`numpy_log_mel`, its own row);
  PyTorch `transformers` (the torch-reference extra): WhisperFeatureExtractor + encoder, the
  original project's way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from talkmesh_jax import SAMPLE_RATE
from talkmesh_jax.bench.numpy_log_mel import numpy_log_mel
from talkmesh_jax.whisper.ct2_writer import import_ctranslate2, random_variables, write_ctranslate2
from talkmesh_jax.whisper.encoder import WhisperEncoderConfig
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES

CT2_COMPUTE_TYPES = ("float32", "int8")
TORCH_MISSING = "PyTorch reference not installed: pip install -e '.[torch-reference]'"


def cpu_count() -> int:
    """CPUs this process may run on (what JAX's CPU client uses, and what CTranslate2 gets)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def torch_missing() -> str | None:
    """None when torch and transformers import, else why the torch rows are skipped."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return TORCH_MISSING
    return None


def random_ct2_whisper(whisper: WhisperEncoderConfig, out: Path) -> Path:
    """Random float32 weights of this size saved by CTranslate2 itself at `out` (the bundled
    tiny.en's vocabulary and options, one decoder layer)."""
    from talkmesh_jax.whisper.bundled import bundled_checkpoint

    metadata = bundled_checkpoint("bundled:tiny.en")
    vocab_size = len((metadata / "vocabulary.txt").read_text().splitlines())
    return write_ctranslate2(random_variables(whisper, vocab_size), out, metadata)


def faster_whisper_features(audio: np.ndarray, num_mel_bins: int) -> np.ndarray:
    """audio [B, S] (S ≤ 30 s) → [B, num_mel_bins, 3000] float32: each example padded to 30 s,
    then faster-whisper's log-mel (its 160 trailing zeros; the segment's first 3000 frames)."""
    return np.stack([numpy_log_mel(x, num_mel_bins, WHISPER_SAMPLES)[:, :3000] for x in audio])


def ct2_calls(
    directory: Path, audio: np.ndarray, num_mel_bins: int, threads: int
) -> tuple[dict[str, Callable[[], np.ndarray]], np.ndarray]:
    """{"ct2_log_mel", "ct2_float32", "ct2_int8"} callables and the log-mel they encode
    ([B, mels, 3000] float32, host). Encoding takes the host log-mel and returns host features
    [B, 1500, d_model]."""
    ctranslate2 = import_ctranslate2()
    features = faster_whisper_features(audio, num_mel_bins)
    calls: dict[str, Callable[[], np.ndarray]] = {
        "ct2_log_mel": lambda: faster_whisper_features(audio, num_mel_bins)
    }
    for compute_type in CT2_COMPUTE_TYPES:
        model = ctranslate2.models.Whisper(
            str(directory), device="cpu", compute_type=compute_type, intra_threads=threads
        )

        def encode(model=model) -> np.ndarray:
            view = ctranslate2.StorageView.from_array(features)
            return np.asarray(model.encode(view, to_cpu=True))

        calls[f"ct2_{compute_type}"] = encode
    return calls, features


def torch_padded_call(
    ct2_directory: Path, scratch: Path, audio: np.ndarray, num_mel_bins: int, config
) -> Callable[[], np.ndarray]:
    """transformers on the same weights (converted by `talkmesh whisper convert`): its
    WhisperFeatureExtractor (30 s padded) + encoder, in the bench's dtype on its torch device."""
    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    from talkmesh_jax.whisper.convert import convert_ctranslate2

    torch.backends.cuda.matmul.allow_tf32 = config.tf32
    torch.backends.cudnn.allow_tf32 = config.tf32
    dtype = torch.bfloat16 if config.dtype == "bfloat16" else torch.float32
    hf = convert_ctranslate2(ct2_directory, scratch / "hf")
    model = WhisperForConditionalGeneration.from_pretrained(hf).model.eval()
    model = model.to(config.torch_device, dtype=dtype)
    extractor = WhisperFeatureExtractor(feature_size=num_mel_bins)

    def run() -> np.ndarray:
        feats = extractor(list(audio), sampling_rate=SAMPLE_RATE, return_tensors="pt")
        inputs = feats.input_features.to(config.torch_device, dtype=dtype)
        with torch.no_grad():
            hidden = model.encoder(inputs)
        return hidden.last_hidden_state.float().cpu().numpy()

    return run


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
