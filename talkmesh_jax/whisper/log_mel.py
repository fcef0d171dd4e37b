"""Whisper's log-mel front end in JAX, jit-able on batches, run on the device inside the model.

Same meaning as `transformers.WhisperFeatureExtractor` (checked against it in the tests):
16 kHz audio, n_fft 400 (25 ms) with a periodic Hann window, hop 160 (10 ms, 100 frames/s),
centred frames with reflect padding, power spectrum, Slaney mel filters 0–8 kHz, log10 with floor
1e-10, the last frame dropped, values clamped to (max − 8) per example, then (x + 4) / 4.

One addition of ours, off unless asked (`gate_dbfs`): a noise gate. A frame (its 25 ms Hann window)
counts as digital silence when it and every frame within `GATE_HOLD_FRAMES` (100 ms) of it have
an RMS below `gate_dbfs` (dB relative to full scale: white noise of standard deviation 1e-3 is −60
dBFS), so a recording's faint hiss and true silence give the same features and the same face,
while the quiet consonants next to speech are kept (a gate's "hold").
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax import SAMPLE_RATE

N_FFT = 400
HOP_LENGTH = 160
WHISPER_SAMPLES = 30 * SAMPLE_RATE  # Whisper's fixed 30 s input
GATE_HOLD_FRAMES = 10  # the noise gate stays open 100 ms either side of a frame above it


def _hz_to_mel_slaney(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, np.float64)
    mel = 3.0 * hz / 200.0
    log_region = hz >= 1000.0
    return np.where(
        log_region, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) * 27.0 / np.log(6.4), mel
    )


def _mel_to_hz_slaney(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    hz = 200.0 * mel / 3.0
    return np.where(mel >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0)), hz)


@lru_cache(maxsize=8)
def mel_filters(
    num_mel_bins: int, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT
) -> np.ndarray:
    """[n_fft // 2 + 1, num_mel_bins] float32 triangular Slaney filters, 0 .. sample_rate / 2."""
    fft_freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    mel_points = np.linspace(
        _hz_to_mel_slaney(0.0), _hz_to_mel_slaney(sample_rate / 2), num_mel_bins + 2
    )
    edges = _mel_to_hz_slaney(mel_points)  # [num_mel_bins + 2] Hz
    widths = np.diff(edges)
    slopes = edges[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    filters *= 2.0 / (edges[2:] - edges[:-2])  # Slaney area normalisation
    return filters.astype(np.float32)


def num_frames(num_samples: int) -> int:
    """Log-mel frames for `num_samples` samples (100 per second)."""
    return num_samples // HOP_LENGTH


def log_mel_spectrogram(
    audio: jnp.ndarray,
    num_mel_bins: int = 80,
    pad_to_samples: int | None = None,
    gate_dbfs: float | None = None,
) -> jnp.ndarray:
    """Whisper log-mel features.

    audio: [B, S] float32, 16 kHz mono. With `pad_to_samples` (e.g. WHISPER_SAMPLES) the audio is
    zero-padded (or cut) to that length first, as the reference feature extractor does. With
    `gate_dbfs`, frames quieter than that (RMS, dBFS) are taken as digital silence (docstring).
    Returns [B, S // 160, num_mel_bins] float32 (time-major, as Flax convolutions want it).
    """
    audio = jnp.asarray(audio, jnp.float32)
    if pad_to_samples is not None:
        audio = audio[:, :pad_to_samples]
        audio = jnp.pad(audio, ((0, 0), (0, pad_to_samples - audio.shape[1])))
    half = N_FFT // 2
    padded = jnp.pad(audio, ((0, 0), (half, half)), mode="reflect")
    frames = num_frames(audio.shape[1])  # the centred STFT has one more; Whisper drops it
    index = np.arange(frames)[:, None] * HOP_LENGTH + np.arange(N_FFT)[None, :]
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann
    windowed = padded[:, index] * window  # [B, T, 400]
    spectrum = jnp.fft.rfft(windowed, axis=-1)  # [B, T, 201]
    power = spectrum.real**2 + spectrum.imag**2
    mel = power @ jnp.asarray(mel_filters(num_mel_bins))  # [B, T, mels]
    if gate_dbfs is not None:
        mean_square = jnp.mean(windowed**2, axis=-1) / np.mean(window**2)  # [B, T]
        loud = (mean_square >= 10.0 ** (gate_dbfs / 10.0)).astype(jnp.float32)
        width = 2 * GATE_HOLD_FRAMES + 1
        held = jax.lax.reduce_window(loud, 0.0, jax.lax.max, (1, width), (1, 1), "SAME")
        mel = jnp.where(held[..., None] > 0, mel, 0.0)
    log_mel = jnp.log10(jnp.maximum(mel, 1e-10))
    log_mel = jnp.maximum(log_mel, log_mel.max(axis=(1, 2), keepdims=True) - 8.0)
    return (log_mel + 4.0) / 4.0
