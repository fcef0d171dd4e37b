"""The JAX log-mel front end against transformers.WhisperFeatureExtractor."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from transformers import WhisperFeatureExtractor
from transformers.audio_utils import mel_filter_bank

from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.whisper.log_mel import (
    WHISPER_SAMPLES,
    log_mel_spectrogram,
    mel_filters,
    num_frames,
)


@pytest.mark.parametrize("bins", [80, 128])
def test_mel_filters_match_transformers(bins: int) -> None:
    reference = mel_filter_bank(
        num_frequency_bins=201,
        num_mel_filters=bins,
        min_frequency=0.0,
        max_frequency=8000.0,
        sampling_rate=16000,
        norm="slaney",
        mel_scale="slaney",
    )
    np.testing.assert_allclose(mel_filters(bins), reference, atol=1e-8)


@pytest.mark.parametrize("bins", [80, 128])
def test_log_mel_matches_whisper_feature_extractor(bins: int) -> None:
    audio = speechlike(2, 7 * 16000, seed=bins)
    audio[1] *= 0.01  # a quiet example: the (max - 8) clamp is per example
    audio[1, 16000:32000] = 0.0  # and silence: the 1e-10 floor
    extractor = WhisperFeatureExtractor(feature_size=bins)
    reference = extractor(list(audio), sampling_rate=16000, return_tensors="np").input_features
    ours = jax.jit(lambda x: log_mel_spectrogram(x, bins, WHISPER_SAMPLES))(audio)
    assert ours.shape == (2, 3000, bins)
    np.testing.assert_allclose(np.asarray(ours).transpose(0, 2, 1), reference, atol=1e-4)


def test_unpadded_log_mel_has_one_frame_per_10_ms() -> None:
    audio = speechlike(3, 80_000)
    ours = log_mel_spectrogram(audio, 80)
    assert ours.shape == (3, num_frames(80_000), 80) == (3, 500, 80)
    # Same values as the padded transform where the padding cannot reach (clamp aside).
    padded = log_mel_spectrogram(audio, 80, WHISPER_SAMPLES)
    assert np.abs(np.asarray(ours)[:, :490] - np.asarray(padded)[:, :490]).max() < 0.02
