"""The streaming Whisper context (`TrailingWhisper`): each hop's rows come from its own span, a
stream computes the offline rows (to float32 rounding), and nothing after the look-ahead changes a
frame."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.models.audio_encoder import AudioEncoderConfig
from talkmesh_jax.whisper.context import feature_rows
from talkmesh_jax.whisper.encoder import WhisperEncoder, WhisperEncoderConfig
from talkmesh_jax.whisper.log_mel import log_mel_spectrogram
from talkmesh_jax.whisper.trailing import TrailingWhisper

CONFIG = WhisperEncoderConfig(80, 32, 1, 2, 64, 1500)
SPAN, HOP, AHEAD = 25, 3, 2  # frames: 1 s of audio per hop of 120 ms, 80 ms after it


@pytest.fixture(scope="module")
def trailing():
    params = WhisperEncoder(CONFIG).init(jax.random.key(3), jnp.zeros((1, 2, 80)))["params"]
    return TrailingWhisper(CONFIG, params, SPAN, HOP, AHEAD)


def _span_rows(encoder: TrailingWhisper, audio: np.ndarray, hop: int) -> np.ndarray:
    """Independent definition: hop k's rows from encoding frames [(k+1)H + A − L, (k+1)H + A)
    of the clip (zero outside it) alone."""
    start = ((hop + 1) * HOP + AHEAD - SPAN) * 640
    span = np.zeros(SPAN * 640, np.float32)
    lo, hi = max(0, start), min(len(audio), start + SPAN * 640)
    span[lo - start : hi - start] = audio[lo:hi]
    mel = log_mel_spectrogram(jnp.asarray(span[None]), 80)
    rows = np.asarray(WhisperEncoder(CONFIG).apply({"params": encoder.params}, mel))[0]
    return rows[2 * (SPAN - HOP - AHEAD) : 2 * (SPAN - AHEAD)]


def test_each_hop_is_its_own_span(trailing):
    audio = speechlike(1, 4 * 16000 + 123, seed=1)[0]
    rows = trailing.encode(audio)
    assert rows.shape == (feature_rows(len(audio)), 32)
    for hop in (0, 1, 7, len(rows) // (2 * HOP)):  # the first spans start before the clip
        expected = _span_rows(trailing, audio, hop)[: len(rows) - 2 * HOP * hop]
        np.testing.assert_allclose(rows[2 * HOP * hop :][: len(expected)], expected, atol=1e-5)


@pytest.mark.parametrize("chunk", [100, 640, 2000, 70000])
def test_stream_computes_exactly_the_offline_rows(trailing, chunk):
    """The same spans: equal up to float32 rounding (XLA's matmuls round differently at another
    batch size, and a stream encodes the hops that are ready, offline export 16 at a time)."""
    audio = speechlike(1, 3 * 16000 + 555, seed=2)[0]
    offline = trailing.encode(audio)
    pieces = [audio[i : i + chunk] for i in range(0, len(audio), chunk)]
    streamed = np.concatenate(list(trailing.stream(pieces)))
    assert streamed.shape == offline.shape
    np.testing.assert_allclose(streamed, offline, rtol=0, atol=1e-5)


def test_nothing_after_the_lookahead_changes_a_frame(trailing):
    """Frame f of hop k sees audio up to frame (k+1)H + A, no further; within that it does."""
    audio = speechlike(1, 3 * 16000, seed=3)[0]
    rows = trailing.encode(audio)
    k = 4
    cut = ((k + 1) * HOP + AHEAD) * 640
    other = speechlike(1, len(audio), seed=9)[0]
    later = audio.copy()
    later[cut:] = other[cut:]
    hop_rows = slice(2 * HOP * k, 2 * HOP * (k + 1))
    np.testing.assert_array_equal(trailing.encode(later)[hop_rows], rows[hop_rows])
    within = audio.copy()
    within[cut - 640 :] = other[cut - 640 :]  # the span's last frame too
    assert np.abs(trailing.encode(within)[hop_rows] - rows[hop_rows]).max() > 1e-3


def test_settings_are_checked():
    with pytest.raises(TalkmeshError, match="trailing context needs"):
        AudioEncoderConfig.from_dict(
            {"context": "trailing", "trailing_seconds": 0.2, "trailing_hop_frames": 4}
        )
    with pytest.raises(TalkmeshError, match="context 'trailing' encodes clips once"):
        AudioEncoderConfig.from_dict({"context": "trailing", "frozen": False})
    config = AudioEncoderConfig.from_dict({"context": "trailing"})
    assert config.inputs_are_features
