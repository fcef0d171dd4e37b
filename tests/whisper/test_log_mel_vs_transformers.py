"""Our log-mel front end and the numpy reference against transformers.WhisperFeatureExtractor
(`pip install -e ".[torch-reference]"`)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from talkmesh_jax.bench.numpy_log_mel import numpy_log_mel, slaney_mel_filters
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.whisper.log_mel import WHISPER_SAMPLES, log_mel_spectrogram, mel_filters
from tests.helpers import NO_TORCH

pytestmark = pytest.mark.torch_reference
transformers = pytest.importorskip("transformers", reason=NO_TORCH)


@pytest.mark.parametrize("bins", [80, 128])
def test_mel_filters_match_transformers(bins: int) -> None:
    reference = transformers.audio_utils.mel_filter_bank(
        num_frequency_bins=201,
        num_mel_filters=bins,
        min_frequency=0.0,
        max_frequency=8000.0,
        sampling_rate=16000,
        norm="slaney",
        mel_scale="slaney",
    )
    np.testing.assert_allclose(mel_filters(bins), reference, atol=1e-8)
    np.testing.assert_allclose(slaney_mel_filters(bins).T, reference, atol=1e-8)


@pytest.mark.parametrize("bins", [80, 128])
def test_log_mel_matches_whisper_feature_extractor(bins: int) -> None:
    audio = speechlike(2, 7 * 16000, seed=bins)
    audio[1] *= 0.01  # a quiet example: the (max - 8) clamp is per example
    audio[1, 16000:32000] = 0.0  # and silence: the 1e-10 floor
    extractor = transformers.WhisperFeatureExtractor(feature_size=bins)
    reference = extractor(list(audio), sampling_rate=16000, return_tensors="np").input_features
    ours = jax.jit(lambda x: log_mel_spectrogram(x, bins, WHISPER_SAMPLES))(audio)
    assert ours.shape == (2, 3000, bins)
    np.testing.assert_allclose(np.asarray(ours).transpose(0, 2, 1), reference, atol=1e-4)
    ours_numpy = [
        numpy_log_mel(x, bins, WHISPER_SAMPLES, tail_zeros=0, dtype=np.float64) for x in audio
    ]
    np.testing.assert_allclose(np.stack(ours_numpy), reference, atol=1e-4)
