"""The Predictor's windowing, with a stub generator that returns a known function of the absolute
frame: where windows start, that the cross-fade weights sum to one, no seams, T = round(S / 640),
and the last partial batch."""

from types import SimpleNamespace

import numpy as np
import pytest

from talkmesh_jax.inference.predictor import Predictor, bucket_size
from talkmesh_jax.targets import TargetLayout

WINDOW = 25


def _predictor(
    layout: TargetLayout, batch_size: int = 3, offset_per_window: float = 0.0, lookahead: int = 0
):
    """A Predictor whose generator depends on every sample of its window: frame t of a window
    reads x = (mean of frames t … t + `lookahead`'s samples − 319.5) / 640, the window clipped at
    its end. On the ramp audio of `_audio` (sample i is i) and lookahead 0, x is the absolute
    frame; zero-filled samples (past the end, or not yet streamed) change it. It returns
    f(x) = (x, x²/100, 3x, …) (+ a per-call offset)."""
    family = SimpleNamespace(layout=layout)
    predictor = Predictor(family, None, np.zeros((2, 3), np.float32), WINDOW, batch_size)
    calls = []

    def generate(_, audio, frames, keys):
        audio = np.asarray(audio, np.float64)
        calls.append(audio.shape[0])
        means = audio.reshape(len(audio), WINDOW, 640).mean(-1)  # [B, W]
        ahead = np.stack([np.roll(means, -j, 1) for j in range(lookahead + 1)], -1)
        counts = np.minimum(lookahead + 1, WINDOW - np.arange(WINDOW))  # clipped at the end
        for j in range(1, lookahead + 1):
            ahead[:, WINDOW - j :, j] = 0.0
        x = (ahead.sum(-1) / counts - 319.5) / 640
        columns = [x * (k + 1) if k % 2 == 0 else x**2 / 100 for k in range(layout.dim)]
        out = np.stack(columns, -1) + offset_per_window * len(calls)
        return out.astype(np.float32)

    predictor._generate = generate
    predictor.calls = calls
    return predictor


def _audio(samples: int) -> np.ndarray:
    return np.arange(samples, dtype=np.float64).astype(np.float32)


def _frame_values(audio: np.ndarray) -> np.ndarray:
    """The stub's x per frame (lookahead 0) of the whole, zero-padded audio: T frames."""
    frames = max(1, round(len(audio) / 640))
    padded = np.zeros(frames * 640)
    padded[: min(len(audio), frames * 640)] = audio[: frames * 640]
    return (padded.reshape(frames, 640).mean(-1) - 319.5) / 640


def test_window_starts_cover_the_audio_with_a_fifth_of_overlap():
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 2))
    assert predictor.window_starts(1) == predictor.window_starts(20) == [0]
    assert predictor.window_starts(21) == [0, 20]  # frame 20 is in the overlap: both windows
    starts = predictor.window_starts(1000)
    assert np.diff(starts).tolist() == [20] * (len(starts) - 1)
    assert starts[-1] < 1000 <= starts[-1] + 20


@pytest.mark.parametrize("frames", [1, 24, 25, 26, 45, 46, 100, 101, 333])
def test_blend_is_exact_for_a_consistent_generator(frames):
    """Every window predicts the same value for the same absolute frame, so the cross-fade
    (weights summing to one) must give that value back exactly, for any length."""
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 4))
    for samples in (frames * 640 - 300, frames * 640, frames * 640 + 319):
        out = predictor.predict_all(_audio(samples))["blendshapes"]
        assert out.shape == (max(1, round(samples / 640)), 4)
        t = np.arange(len(out))
        full = slice(0, samples // 640)  # frames whose samples all exist: x is the frame
        np.testing.assert_allclose(out[full, 0], t[full], atol=1e-3)
        np.testing.assert_allclose(out[full, 1], t[full] ** 2 / 100, rtol=1e-5, atol=1e-3)
        x = _frame_values(_audio(samples))  # the last, partly zero-filled frame too
        np.testing.assert_allclose(out[:, 0], x, atol=1e-3)
        np.testing.assert_allclose(out[:, 1], x**2 / 100, rtol=1e-5, atol=1e-3)


def test_last_partial_batch_and_landmarks_with_reference():
    predictor = _predictor(TargetLayout.of("landmarks", 2, 52), batch_size=3)
    audio = _audio(200 * 640)  # 10 windows: batches of 3, 3, 3 and 1 (its own bucket)
    out = predictor.predict_all(audio)
    assert predictor.calls == [3, 3, 3, 1] and len(predictor.window_starts(200)) == 10
    assert out["landmarks"].shape == (200, 2, 3) and set(out) == {"landmarks"}
    np.testing.assert_allclose(out["landmarks"][:, 0, 0], np.arange(200), atol=1e-3)


def test_no_seam_where_windows_disagree():
    """Windows that disagree by a constant (each batch call adds 1) are cross-faded over their
    overlap: the largest frame-to-frame step stays near the generator's own (1 per frame here)
    instead of jumping by the disagreement."""
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 2), 1, offset_per_window=5.0)
    out = predictor.predict_all(_audio(120 * 640))["blendshapes"][:, 0]
    steps = np.diff(out)
    assert steps.max() < 1 + 5.0 / 4  # 5 spread over the 5-frame overlap, not a jump of 6
    assert steps.min() > 0


def test_partial_batches_run_at_power_of_two_buckets():
    assert [bucket_size(n, 8) for n in range(1, 9)] == [1, 2, 4, 4, 8, 8, 8, 8]
    assert [bucket_size(n, 6) for n in range(1, 7)] == [1, 2, 4, 4, 6, 6]
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 2), batch_size=8)
    predictor.predict_all(_audio(20 * 640 * 5))  # 5 windows: one batch at bucket 8
    predictor.predict_all(_audio(20 * 640))  # 1 window: bucket 1, not 8
    assert predictor.calls == [8, 1]


@pytest.mark.parametrize("chunk", [1, 333, 640, 7000, 10**6])
def test_audio_in_pieces_gives_the_same_frames_in_order(chunk):
    """stream() over chunks of any size yields exactly predict_all's frames, each once, in
    order, and holds at most a batch of windows plus one more (flat memory)."""
    predictor = _predictor(TargetLayout.of("blendshapes", 2, 2), batch_size=2)
    audio = _audio(173 * 640 + 101)
    whole = predictor.predict_all(audio)["blendshapes"]
    pieces = (audio[i : i + chunk] for i in range(0, len(audio), chunk))
    blocks = list(predictor.stream(pieces))
    np.testing.assert_array_equal(np.concatenate(blocks), whole)
    assert max(predictor.calls) <= 2
