"""A PyTorch re-enactment of the original project's training step (the anchor of `bench train`).

What `../shared/SEED_NOTES.md` records of 3DTalkingFaceMesh, in its own framework: each 5 s window
is padded to 30 s by `WhisperFeatureExtractor` and encoded by a frozen whisper-small (768-d, all
1500 positions); Linear(768 → 64); a FaceFormer decoder (torch's `TransformerDecoderLayer`, 4 heads,
FFN 128, 1 layer) with the periodic positional encoding (period 25), the ALiBi-style biased causal
mask and the alignment mask (window 2); Linear(64 → 468·3) initialised to zero, fed back through
Linear(468·3 → 64). Training runs the whole autoregressive loop, re-running the decoder on the
growing prefix for every frame, then MSE on the displacement and an optimiser step. Whisper's
weights are random (the time does not depend on them); the optimiser is torch's Adam (the original
offered adam, adamw and lion; their cost is the same here). Needs torch and transformers.
"""

from __future__ import annotations

import math
import time

import numpy as np

from talkmesh_jax import SAMPLE_RATE, SAMPLES_PER_FRAME
from talkmesh_jax.models.faceformer.model import alibi_slopes, periodic_positional_encoding


def _biased_mask(num_heads: int, length: int, period: int):
    """FaceFormer's init_biased_mask: [H, L, L] additive (0 / −inf causal plus ALiBi steps)."""
    import torch

    slopes = torch.tensor(alibi_slopes(num_heads))
    bias = -(torch.arange(0, length, period).repeat_interleave(period)[:length] // period)
    bias = bias.flip(0)
    alibi = torch.zeros(length, length)
    for i in range(length):
        alibi[i, : i + 1] = bias[-(i + 1) :]
    causal = torch.triu(torch.full((length, length), float("-inf")), diagonal=1)
    return causal[None] + slopes[:, None, None] * alibi[None]


def _alignment_mask(frames: int, positions: int, window: int = 2):
    """[T, M] additive: frame i sees encoder positions [2i − (w − 2), 2i + 2)."""
    import torch

    mask = torch.full((frames, positions), float("-inf"))
    for i in range(frames):
        mask[i, max(0, 2 * i - (window - 2)) : 2 * i + 2] = 0.0
    return mask


def build_original(num_landmarks: int = 468, feature_dim: int = 64, num_heads: int = 4):
    """(decoder module dict, Whisper model) of the original's architecture."""
    import torch
    from transformers import WhisperModel

    from talkmesh_jax.bench.encoder_baselines import hf_whisper_config
    from talkmesh_jax.whisper.encoder import WHISPER_SIZES

    torch.manual_seed(0)
    whisper = WhisperModel(hf_whisper_config(WHISPER_SIZES["small"])).eval()
    for parameter in whisper.parameters():
        parameter.requires_grad_(False)
    layer = torch.nn.TransformerDecoderLayer(
        feature_dim, num_heads, dim_feedforward=2 * feature_dim, batch_first=True, dropout=0.0
    )
    decoder = torch.nn.ModuleDict(
        {
            "audio_map": torch.nn.Linear(768, feature_dim),
            "vertice_map": torch.nn.Linear(num_landmarks * 3, feature_dim),
            "decoder": torch.nn.TransformerDecoder(layer, num_layers=1),
            "vertice_map_r": torch.nn.Linear(feature_dim, num_landmarks * 3),
        }
    )
    torch.nn.init.zeros_(decoder["vertice_map_r"].weight)
    torch.nn.init.zeros_(decoder["vertice_map_r"].bias)
    return decoder, whisper


def autoregressive_forward(decoder, memory, frames: int, num_heads: int = 4, period: int = 25):
    """The original's loop: for every frame the decoder runs again on the whole prefix.
    memory [B, M, 64] → displacement [B, T, V·3]."""
    import torch

    batch, dim = memory.shape[0], memory.shape[-1]
    ppe = torch.tensor(periodic_positional_encoding(frames, dim, period))
    biased = _biased_mask(num_heads, frames, period)
    alignment = _alignment_mask(frames, memory.shape[1])
    embedded = torch.zeros(batch, 1, dim)
    for t in range(frames):
        inputs = embedded + ppe[: t + 1]
        self_mask = biased[:, : t + 1, : t + 1].repeat(batch, 1, 1)
        out = decoder["decoder"](inputs, memory, tgt_mask=self_mask, memory_mask=alignment[: t + 1])
        out = decoder["vertice_map_r"](out)
        new = decoder["vertice_map"](out[:, -1:])
        embedded = torch.cat([embedded, new], 1)
    return out


def original_step_seconds(batch_size: int = 8, frames: int = 125, steps: int = 2) -> dict:
    """Wall seconds of the original's full training step (feature extraction, Whisper-small on
    30 s, the per-frame recomputed decoder, backward, Adam) on `batch_size` windows of `frames`;
    `steps` steps, the first a warm-up. Returns the seconds of each part of the last step."""
    import torch
    from transformers import WhisperFeatureExtractor

    decoder, whisper = build_original()
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-4)
    extractor = WhisperFeatureExtractor()
    rng = np.random.default_rng(0)
    audio = list(0.1 * rng.standard_normal((batch_size, frames * SAMPLES_PER_FRAME), np.float32))
    targets = torch.tensor(0.1 * rng.standard_normal((batch_size, frames, 468 * 3), np.float32))
    parts = {}
    for _ in range(steps):
        start = time.perf_counter()
        features = extractor(audio, sampling_rate=SAMPLE_RATE, return_tensors="pt")
        with torch.no_grad():
            hidden = whisper.encoder(features.input_features).last_hidden_state
        encoded = time.perf_counter()
        predictions = autoregressive_forward(decoder, decoder["audio_map"](hidden), frames)
        loss = torch.nn.functional.mse_loss(predictions, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        done = time.perf_counter()
        parts = {"encoder_s": encoded - start, "decoder_s": done - encoded, "step_s": done - start}
    parts["threads"] = torch.get_num_threads()
    parts["batch_frames"] = batch_size * frames
    parts["window_frames"] = frames
    if not math.isfinite(float(loss.detach())):
        raise RuntimeError("the re-enacted original step gave a non-finite loss")
    return parts
