"""Whisper's log-mel in numpy, the way faster-whisper's `FeatureExtractor` computes it.

Two users: `bench encoder`'s CTranslate2 rows (their front end, timed as its own row), and the
tests' reference for our JAX front end (`whisper/log_mel.py`) in float64. Written apart from the
JAX code on purpose: the Slaney mel filters follow librosa's construction (one filter at a time,
from the FFT bin frequencies), the STFT is numpy's rfft over strided frames.

Whisper's definition: 16 kHz audio, n_fft 400 with a periodic Hann window, hop 160, centred frames
with reflect padding, power spectrum, the last frame dropped, Slaney mel filters 0–8 kHz, log10
with floor 1e-10, clamped to (max − 8), then (x + 4) / 4. faster-whisper appends 160 zeros to the
audio first (`tail_zeros=160`), so 30 s of audio give 3001 frames of which a segment takes 3000;
transformers' `WhisperFeatureExtractor`, like our JAX front end, appends none (`tail_zeros=0`).
"""

from __future__ import annotations

import numpy as np

from talkmesh_jax import SAMPLE_RATE

N_FFT = 400
HOP = 160
FASTER_WHISPER_TAIL_ZEROS = 160


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mel per 200 Hz) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, np.float64)
    linear = hz / (200.0 / 3.0)
    logarithmic = 15.0 + np.log(np.maximum(hz, 1000.0) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, logarithmic, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    linear = mel * (200.0 / 3.0)
    logarithmic = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, logarithmic, linear)


def slaney_mel_filters(num_mel_bins: int) -> np.ndarray:
    """[num_mel_bins, 201] float64 triangular filters over the rfft bins, area-normalised."""
    bin_hz = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    corners = _mel_to_hz(
        np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), num_mel_bins + 2)
    )
    filters = np.zeros((num_mel_bins, len(bin_hz)))
    for i in range(num_mel_bins):
        low, centre, high = corners[i : i + 3]
        rising = (bin_hz - low) / (centre - low)
        falling = (high - bin_hz) / (high - centre)
        filters[i] = np.maximum(0.0, np.minimum(rising, falling)) * 2.0 / (high - low)
    return filters


def numpy_log_mel(
    audio: np.ndarray,
    num_mel_bins: int = 80,
    pad_to_samples: int | None = None,
    tail_zeros: int = FASTER_WHISPER_TAIL_ZEROS,
    dtype: type = np.float32,
) -> np.ndarray:
    """audio [S] 16 kHz mono → [num_mel_bins, (S' + tail_zeros) // 160] log-mel, `dtype`.

    With `pad_to_samples` (e.g. WHISPER_SAMPLES) the audio is zero-padded (or cut) to that length
    first, S' = pad_to_samples, as in `whisper/log_mel.log_mel_spectrogram`; else S' = S.
    dtype float32 is faster-whisper's arithmetic; float64 is the tests' reference."""
    audio = np.asarray(audio, dtype)[:pad_to_samples]
    length = (len(audio) if pad_to_samples is None else pad_to_samples) + tail_zeros
    audio = np.pad(audio, (0, length - len(audio)))
    padded = np.pad(audio, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:-1]
    window = np.hanning(N_FFT + 1)[:-1].astype(dtype)
    spectrum = np.fft.rfft(frames * window, axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(dtype)  # [T, 201]
    mel = slaney_mel_filters(num_mel_bins).astype(dtype) @ power.T  # [mels, T]
    log_mel = np.log10(np.maximum(mel, 1e-10))
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    return ((log_mel + 4.0) / 4.0).astype(dtype)
