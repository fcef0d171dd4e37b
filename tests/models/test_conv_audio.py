"""The light conv audio encoder (MeshTalk project's)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from talkmesh_jax.bench.signals import speechlike
from talkmesh_jax.models.audio_encoder import AudioEncoderConfig, build_audio_encoder
from talkmesh_jax.models.conv_audio import window_means


def test_window_means_equal_brute_force() -> None:
    x = np.random.default_rng(0).standard_normal((2, 37, 3)).astype(np.float32)
    centres = np.array([0, 5, 18, 36, 40])
    got = np.asarray(window_means(jnp.asarray(x), jnp.asarray(centres), 6))
    for i, c in enumerate(centres):
        lo, hi = max(c - 6, 0), min(c + 6, 37)
        want = x[:, lo:hi].mean(1) if hi > lo else np.zeros((2, 3))
        np.testing.assert_allclose(got[:, i], want, rtol=1e-5, atol=1e-6)


def test_one_feature_vector_per_video_frame_that_follows_the_audio() -> None:
    module, params = build_audio_encoder(AudioEncoderConfig(kind="conv"))
    assert params is None
    audio = jnp.asarray(speechlike(2, 3 * 16000 + 100))
    variables = module.init(jax.random.key(0), audio)
    apply = jax.jit(module.apply)
    features = apply(variables, audio)
    assert features.shape == (2, 75, 128)  # 3 s at 25 fps
    # Silence from 2 s on (log-mel frame 200) in one example changes only the frames whose 1 s
    # window (±50 log-mel frames) plus receptive field (±12 conv, ±2 STFT) reaches frame 200:
    # frames from 34 on; frames from 38 on have it inside the window itself.
    quiet = audio.at[1, 32000:].set(0.0)
    changed = np.abs(np.asarray(apply(variables, quiet) - features)).max(axis=-1)
    assert changed[0].max() == 0.0
    assert changed[1, :33].max() == 0.0 and changed[1, 38:].min() > 0.0
