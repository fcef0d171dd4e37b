"""The feature cache: what it stores is what export computes (float16 precision on both sides),
and every change that makes a file stale gets a new file: other weights, other audio, a new
encoding version, another frame count."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from talkmesh_jax.data import feature_cache
from talkmesh_jax.data.feature_cache import FeatureCache
from talkmesh_jax.data.packed import concatenate_clips
from talkmesh_jax.whisper.context import ChunkedWhisper, as_stored
from talkmesh_jax.whisper.encoder import WhisperEncoder, WhisperEncoderConfig

CONFIG = WhisperEncoderConfig(80, 32, 1, 2, 64, 1500)


def _encoder(seed: int) -> ChunkedWhisper:
    params = WhisperEncoder(CONFIG).init(jax.random.key(seed), jnp.zeros((1, 2, 80)))["params"]
    return ChunkedWhisper(CONFIG, params)


def _clips(audio_seed: int = 0, frames=(30, 45)):
    rng = np.random.default_rng(audio_seed)
    audios = [(0.1 * rng.standard_normal(n * 640)).astype(np.float32) for n in frames]
    landmarks = [np.zeros((n, 2, 3), np.float32) for n in frames]
    return concatenate_clips(audios, landmarks, [np.ones(n, bool) for n in frames])


def _files(root) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / "features").rglob("*.npy")}


@pytest.fixture(scope="module")
def encoder() -> ChunkedWhisper:
    return _encoder(0)


def test_training_reads_what_export_computes(encoder, tmp_path):
    clips = _clips()
    cached = FeatureCache(tmp_path, encoder).features(clips, show_progress=False)
    assert cached.dtype == np.float16 and cached.shape == (75, 2 * 32)
    for c in range(2):
        audio = np.asarray(clips.audio[clips.audio_offsets[c] : clips.audio_offsets[c + 1]])
        rows = cached[clips.frame_offsets[c] : clips.frame_offsets[c + 1]].astype(np.float32)
        exported = np.concatenate([as_stored(b) for b in encoder.stream([audio])])  # export's
        np.testing.assert_array_equal(rows.reshape(-1, 32), exported)


def test_stale_files_are_never_read(encoder, tmp_path, monkeypatch):
    first = FeatureCache(tmp_path, encoder).features(_clips(), show_progress=False)
    files = _files(tmp_path)
    assert len(files) == 2
    # the same encoder and audio: read, not encoded again
    monkeypatch.setattr(ChunkedWhisper, "encode", lambda *a: pytest.fail("encoded again"))
    again = FeatureCache(tmp_path, encoder).features(_clips(), show_progress=False)
    np.testing.assert_array_equal(again, first)
    monkeypatch.undo()
    # other weights: another folder
    FeatureCache(tmp_path, _encoder(1)).features(_clips(), show_progress=False)
    assert len(_files(tmp_path) - files) == 2
    files = _files(tmp_path)
    # other audio of a clip: another file
    FeatureCache(tmp_path, encoder).features(_clips(audio_seed=1), show_progress=False)
    assert len(_files(tmp_path) - files) == 2
    files = _files(tmp_path)
    # a new version of the encoding code: another folder
    monkeypatch.setattr(feature_cache, "FEATURES_VERSION", feature_cache.FEATURES_VERSION + 1)
    FeatureCache(tmp_path, encoder).features(_clips(), show_progress=False)
    assert len(_files(tmp_path) - files) == 2


def test_a_changed_frame_count_is_encoded_again(encoder, tmp_path):
    """The same audio with one frame fewer (a clip re-extracted with a shorter landmark file)
    reads a file of the wrong row count: it is encoded again, not reshaped into an error."""
    clips = _clips()
    FeatureCache(tmp_path, encoder).features(clips, show_progress=False)
    rng = np.random.default_rng(0)
    audios = [(0.1 * rng.standard_normal(n * 640)).astype(np.float32) for n in (30, 45)]
    shorter = concatenate_clips(
        audios,
        [np.zeros((n, 2, 3), np.float32) for n in (29, 45)],
        [np.ones(n, bool) for n in (29, 45)],
    )
    features = FeatureCache(tmp_path, encoder).features(shorter, show_progress=False)
    assert features.shape == (74, 64)
    expected = np.concatenate([as_stored(b) for b in encoder.stream([audios[0]])])[:58]
    np.testing.assert_array_equal(features[:29].astype(np.float32).reshape(-1, 32), expected)
