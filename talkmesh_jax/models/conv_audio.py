"""The light audio encoder of the MeshTalk project (SEED_NOTES §2), for small machines.

Original: for each video frame, the log-mel (80 bins, hop 160) of a 1 s window around the frame →
Conv1d stack with dilations 2/4/6, leaky ReLU 0.2, residual averaging → mean over time → 128-d.
Here the convolution stack runs once over the whole sequence and each frame takes the mean of the
1 s of outputs around its centre (a moving average): the same per-frame receptive field at 1/25
of the work (25 fps: each log-mel frame is in 25 windows). Only the window edges differ: the
original zero-pads each 1 s window, this sees the real neighbouring audio there.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from talkmesh_jax import FPS, SAMPLE_RATE
from talkmesh_jax.whisper.log_mel import HOP_LENGTH, log_mel_spectrogram

MEL_RATE = SAMPLE_RATE // HOP_LENGTH  # 100 log-mel frames per second


def window_means(x: jnp.ndarray, centres: jnp.ndarray, half_width: int) -> jnp.ndarray:
    """Mean of x[:, c - half_width : c + half_width] for each centre c, clipped to the sequence.

    x: [B, T, C]; centres: [F] int → [B, F, C].
    """
    total = jnp.pad(jnp.cumsum(x, axis=1), ((0, 0), (1, 0), (0, 0)))  # [B, T + 1, C]
    lo = jnp.clip(centres - half_width, 0, x.shape[1])
    hi = jnp.clip(centres + half_width, 0, x.shape[1])
    count = jnp.maximum(hi - lo, 1)[None, :, None]
    return (total[:, hi] - total[:, lo]) / count


class ConvAudioEncoder(nn.Module):
    """Audio [B, S] float32 16 kHz → per-frame features [B, round(S * fps / 16000), features]."""

    channels: int = 128
    features: int = 128
    num_mel_bins: int = 80
    dilations: tuple[int, ...] = (2, 4, 6)
    fps: int = FPS
    window_seconds: float = 1.0
    dtype: jnp.dtype = jnp.float32
    gate_dbfs: float | None = None  # the log-mel's noise gate (None: off)

    @nn.compact
    def __call__(self, audio: jnp.ndarray) -> jnp.ndarray:
        mel = log_mel_spectrogram(audio, self.num_mel_bins, gate_dbfs=self.gate_dbfs)
        mel = mel.astype(self.dtype)  # [B, T, mels]
        h = nn.Dense(self.channels, dtype=self.dtype, name="input")(mel)
        for i, dilation in enumerate(self.dilations):
            conv = nn.Conv(
                self.channels,
                (3,),
                kernel_dilation=(dilation,),
                padding="SAME",
                dtype=self.dtype,
                name=f"conv_{i}",
            )
            h = 0.5 * (h + nn.leaky_relu(conv(h), negative_slope=0.2))
        frames = round(audio.shape[1] * self.fps / SAMPLE_RATE)
        mel_per_frame = MEL_RATE / self.fps
        centres = jnp.asarray([int((f + 0.5) * mel_per_frame) for f in range(frames)])
        pooled = window_means(h, centres, int(self.window_seconds * MEL_RATE) // 2)
        return nn.Dense(self.features, dtype=self.dtype, name="output")(pooled)
