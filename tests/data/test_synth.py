"""`talkmesh synth`: real espeak-ng speech, a face whose mouth follows it, an upper face that
does not."""

import numpy as np
import pytest

from talkmesh_jax.cli import main
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.data.synth import mouth_controls
from talkmesh_jax.facemesh import BLENDSHAPE_NAMES

UPPER_LIP, LOWER_LIP, LEFT_BROW = 13, 14, 105


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Dataset:
    root = tmp_path_factory.mktemp("synth") / "data"
    assert main(["synth", str(root), "--clips", "6", "--seed", "1", "--no-progress"]) == 0
    return Dataset(root)


def _loudness(audio: np.ndarray, frames: int) -> np.ndarray:
    usable = audio[: frames * 640].reshape(frames, 640)
    return np.sqrt((usable**2).mean(1))


def test_layout_and_files(synth):
    assert synth.clip_names() == [f"synth_{i:05d}" for i in range(6)]
    assert synth.info.num_landmarks == 478 and synth.info.coordinate_frame == "metric_cm"
    assert set(synth.split().values()) <= {"train", "valid", "test"}
    audio, landmarks, valid = synth.load_clip("synth_00000")
    assert landmarks.shape == (len(valid), 478, 3) and len(audio) >= len(valid) * 640
    assert synth.reference_face("close_mouth_face").shape == (478, 3)


def test_audio_is_speech_in_several_voices(synth):
    pitches = []
    for name in synth.clip_names():
        audio, _, _ = synth.load_clip(name)
        loud = _loudness(audio, len(audio) // 640)
        assert 0.3 < (loud > 0.02).mean() < 0.95  # speech with pauses, not a constant signal
        spectrum = np.abs(np.fft.rfft(audio))
        pitches.append(np.fft.rfftfreq(len(audio), 1 / 16000)[spectrum[:8000].argmax()])
    assert len({round(p, -1) for p in pitches}) > 2


def test_mouth_follows_audio_and_upper_face_does_not(synth):
    for name in synth.clip_names():
        audio, landmarks, valid = synth.load_clip(name)
        loud = np.log(_loudness(audio, len(valid)) + 1e-4)[valid]
        opening = np.linalg.norm(landmarks[valid, UPPER_LIP] - landmarks[valid, LOWER_LIP], axis=-1)
        brow = landmarks[valid, LEFT_BROW, 1]
        assert np.corrcoef(loud, opening)[0, 1] > 0.7
        assert abs(np.corrcoef(loud, brow)[0, 1]) < 0.5
        opening_rule, _ = mouth_controls(audio, len(valid))
        assert np.corrcoef(opening_rule[valid], opening)[0, 1] > 0.99  # the fixed rule


def test_blendshapes_follow_the_same_articulation(synth):
    """jawOpen tracks the lip opening, eyeBlink the closing eyelid (MediaPipe's 159 over 145),
    browInnerUp the brow; names and order are MediaPipe's."""
    names = synth.info.blendshape_names
    assert names == tuple(BLENDSHAPE_NAMES)
    for name in synth.clip_names():
        _, landmarks, valid = synth.load_clip(name)
        blendshapes = synth.load_blendshapes(name)
        assert blendshapes.shape == (len(valid), 52) and not blendshapes[~valid].any()
        assert blendshapes.min() >= 0 and blendshapes.max() <= 1
        opening = np.linalg.norm(landmarks[valid, UPPER_LIP] - landmarks[valid, LOWER_LIP], axis=-1)
        column = {n: blendshapes[valid, names.index(n)] for n in names}
        assert np.corrcoef(column["jawOpen"], opening)[0, 1] > 0.95
        eyelid = landmarks[valid, 159, 1] - landmarks[valid, 145, 1]
        if column["eyeBlinkLeft"].std() > 0:
            assert np.corrcoef(column["eyeBlinkLeft"], eyelid)[0, 1] < -0.9
        brow = landmarks[valid, LEFT_BROW, 1]
        assert np.corrcoef(column["browInnerUp"] - column["browDownLeft"], brow)[0, 1] > 0.9
        assert not column["cheekPuff"].any()


def test_same_seed_same_data(synth, tmp_path):
    assert main(["synth", str(tmp_path), "--clips", "2", "--seed", "1", "--no-progress"]) == 0
    again = Dataset(tmp_path)
    for got, want in zip(
        again.load_clip("synth_00001"), synth.load_clip("synth_00001"), strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_degraded_clips_add_invalid_runs_and_noise_to_the_same_clip(synth, tmp_path):
    """--invalid-runs and --noise-cm: every clip gets its runs of zeroed invalid frames and
    landmark noise of that std; audio and the clean motion stay those of the same seed."""
    argv = ["synth", str(tmp_path), "--clips", "3", "--seed", "1", "--no-progress"]
    assert main([*argv, "--invalid-runs", "3", "--noise-cm", "0.02"]) == 0
    degraded = Dataset(tmp_path)
    assert "3 invalid runs per clip, landmark noise 0.02 cm" in degraded.info.source
    for name in degraded.clip_names():
        audio, landmarks, valid = degraded.load_clip(name)
        clean_audio, clean, clean_valid = synth.load_clip(name)
        np.testing.assert_array_equal(audio, clean_audio)
        assert 2 <= (~valid).sum() <= 21 and np.all(landmarks[~valid] == 0)
        both = valid & clean_valid
        noise = (landmarks[both] - clean[both]).reshape(-1)
        assert abs(noise.std() - 0.02) < 0.002 and abs(noise.mean()) < 0.002
    assert main([*argv, "--invalid-runs", "-1"]) == 1
