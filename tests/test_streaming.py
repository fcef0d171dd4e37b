"""Streaming equals offline export: with a stub generator exactly, for any chunking; with a trained
run within a stated tolerance at the model's own look-ahead; the look-ahead is measured."""

import numpy as np
import pytest

from talkmesh_jax.runs import open_run
from talkmesh_jax.streaming import Streamer, measure_lookahead
from talkmesh_jax.targets import TargetLayout
from tests.test_inference import _audio, _predictor

STREAM_TOLERANCE_CM = 1e-3  # streaming vs offline landmarks at the model's own look-ahead


def _stream(streamer, audio, chunk):
    blocks = [streamer.push(audio[i : i + chunk]) for i in range(0, len(audio), chunk)]
    blocks.append(streamer.flush())
    return {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}, blocks


@pytest.mark.parametrize("chunk", [160, 640, 1000, 20000])
@pytest.mark.parametrize("samples", [300, 20 * 640, 21 * 640 + 7, 97 * 640 + 500])
def test_stream_equals_offline_for_any_chunking(chunk, samples):
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 3), batch_size=4)
    audio = _audio(samples)
    offline = predictor.predict_all(audio)["blendshapes"]
    streamed, blocks = _stream(Streamer(predictor, lookahead_frames=2), audio, chunk)
    np.testing.assert_allclose(streamed["blendshapes"], offline, rtol=1e-6, atol=1e-4)


def test_frames_leave_after_the_lookahead():
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 3))
    streamer = Streamer(predictor, lookahead_frames=3)
    assert len(streamer.push(_audio(10 * 640))["blendshapes"]) == 7  # frames 0..6
    assert len(streamer.push(np.zeros(639, np.float32))["blendshapes"]) == 0
    assert len(streamer.push(np.zeros(1, np.float32))["blendshapes"]) == 1
    assert len(streamer.flush()["blendshapes"]) == 3


def test_trained_run_streams_like_it_exports(trained_run):
    _, predictor, _ = open_run(trained_run)
    lookahead = measure_lookahead(predictor)
    # tiny's conv encoder: 3 convs (dilations 2, 4, 6) + a ±80 ms mean + the STFT: ~4–5 frames
    assert 3 <= lookahead <= 6
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 5) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    audio += 0.01 * rng.standard_normal(len(audio)).astype(np.float32)
    offline = predictor.predict_all(audio)["landmarks"]
    streamed, _ = _stream(Streamer(predictor, lookahead), audio, 320)
    assert streamed["landmarks"].shape == offline.shape
    error = np.abs(streamed["landmarks"] - offline).max()
    assert error < STREAM_TOLERANCE_CM
    short, _ = _stream(Streamer(predictor, 0), audio, 320)
    assert np.abs(short["landmarks"] - offline).max() > error  # look-ahead matters
