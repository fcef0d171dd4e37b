"""The JAX log-mel front end against an independent numpy reference (float64), and its gate."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from talkmesh_jax.bench.numpy_log_mel import numpy_log_mel, slaney_mel_filters
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.whisper.log_mel import (
    WHISPER_SAMPLES,
    log_mel_spectrogram,
    mel_filters,
    num_frames,
)


@pytest.mark.parametrize("bins", [80, 128])
def test_mel_filters_match_the_numpy_reference(bins: int) -> None:
    reference = slaney_mel_filters(bins)
    assert reference.shape == (bins, 201)
    np.testing.assert_allclose(mel_filters(bins), reference.T, atol=1e-8)
    assert np.all(reference.max(axis=1) > 0)  # no empty filter


@pytest.mark.parametrize("bins", [80, 128])
def test_log_mel_matches_the_float64_reference(bins: int) -> None:
    audio = speechlike(2, 7 * 16000, seed=bins)
    audio[1] *= 0.01  # a quiet example: the (max - 8) clamp is per example
    audio[1, 16000:32000] = 0.0  # and silence: the 1e-10 floor
    reference = [
        numpy_log_mel(x, bins, WHISPER_SAMPLES, tail_zeros=0, dtype=np.float64) for x in audio
    ]
    ours = jax.jit(lambda x: log_mel_spectrogram(x, bins, WHISPER_SAMPLES))(audio)
    assert ours.shape == (2, 3000, bins)
    np.testing.assert_allclose(np.asarray(ours).transpose(0, 2, 1), np.stack(reference), atol=1e-4)


def test_faster_whisper_style_log_mel_is_whispers_in_float32() -> None:
    """faster-whisper's float32 arithmetic, 160 trailing zeros: one more frame, same values."""
    audio = speechlike(1, 30 * 16000, seed=5)[0]
    fast = numpy_log_mel(audio, 80)
    exact = numpy_log_mel(audio, 80, tail_zeros=0, dtype=np.float64)
    assert fast.dtype == np.float32 and fast.shape == (80, 3001) and exact.shape == (80, 3000)
    np.testing.assert_allclose(fast[:, :2990], exact[:, :2990], atol=2e-4)


def test_unpadded_log_mel_has_one_frame_per_10_ms() -> None:
    audio = speechlike(3, 80_000)
    ours = log_mel_spectrogram(audio, 80)
    assert ours.shape == (3, num_frames(80_000), 80) == (3, 500, 80)
    # Same values as the padded transform where the padding cannot reach (clamp aside).
    padded = log_mel_spectrogram(audio, 80, WHISPER_SAMPLES)
    assert np.abs(np.asarray(ours)[:, :490] - np.asarray(padded)[:, :490]).max() < 0.02


def test_noise_gate_makes_faint_hiss_digital_silence_and_keeps_speech() -> None:
    """gate_dbfs −55: −60 dBFS white hiss (RMS 1e-3) gives exactly digital silence's features;
    frames of speech far above the gate are untouched; a frame just above the gate is not gated."""
    rng = np.random.default_rng(0)
    silence = np.zeros((1, 32000), np.float32)
    hiss = (1e-3 * rng.standard_normal((1, 32000))).astype(np.float32)
    gated = [np.asarray(log_mel_spectrogram(x, 80, gate_dbfs=-55.0)) for x in (silence, hiss)]
    np.testing.assert_array_equal(gated[0], gated[1])
    plain = np.asarray(log_mel_spectrogram(hiss, 80))
    assert np.abs(plain - gated[0]).max() > 0.5  # without the gate the hiss shows
    louder = (10 ** (-50 / 20) * rng.standard_normal((1, 32000))).astype(np.float32)  # −50 dBFS
    np.testing.assert_array_equal(
        np.asarray(log_mel_spectrogram(louder, 80, gate_dbfs=-55.0)),
        np.asarray(log_mel_spectrogram(louder, 80)),
    )
    speech = speechlike(1, 32000, seed=3)
    speech[:, 8000:16000] = hiss[:, 8000:16000]  # a pause with hiss in the middle
    with_gate = np.asarray(log_mel_spectrogram(speech, 80, gate_dbfs=-55.0))
    without = np.asarray(log_mel_spectrogram(speech, 80))
    # frames more than the 100 ms hold inside the pause / the speech (and a consonant's worth of
    # frames at the pause's edges: kept)
    pause, talk, edges = slice(62, 88), slice(110, 190), [slice(48, 58), slice(92, 100)]
    np.testing.assert_array_equal(with_gate[:, talk], without[:, talk])
    assert np.all(with_gate[:, pause] == with_gate.min())  # the pause sits at the clamp floor
    for edge in edges:
        np.testing.assert_array_equal(with_gate[:, edge], without[:, edge])
