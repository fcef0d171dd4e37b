"""Phoneme-driven synthetic mouths: libespeak-ng's phoneme events through ctypes, articulation
targets with anticipation and smoothing, and `talkmesh synth --drive phonemes`."""

from __future__ import annotations

import numpy as np
import pytest

from talkmesh_jax import TalkmeshError
from talkmesh_jax.cli import main
from talkmesh_jax.data.dataset import Dataset
from talkmesh_jax.data.phonemes import ANTICIPATION_S, mouth_from_phonemes, speak_phonemes

TEXT = "Bob bought a blue moon pie."


@pytest.fixture(scope="module")
def spoken():
    return speak_phonemes(TEXT, "en-us", 160, 50)


def test_library_reports_phonemes_with_their_timing(spoken) -> None:
    audio, rate, events = spoken
    assert rate == 22050 and audio.dtype == np.float32 and np.abs(audio).max() > 0.1
    names = [name for name, _ in events]
    for phoneme in ("b", "m", "p", "u:", "aI"):
        assert phoneme in names, names
    times = [t for _, t in events]
    assert times == sorted(times) and 0 <= times[0] and times[-1] <= len(audio) / rate + 0.01
    # the first phoneme starts where the audio becomes loud
    loud = np.flatnonzero(np.abs(audio) > 0.05)[0] / rate
    assert abs(loud - times[0]) < 0.08


def _frame(t: float) -> int:
    return int(round(t * 25))


def test_bilabials_close_rounded_vowels_protrude_open_vowels_drop_the_jaw(spoken) -> None:
    audio, rate, events = spoken
    frames = int(len(audio) / rate * 25) + 1
    opening, spread = mouth_from_phonemes(events, frames)
    by_name = {}
    for i, (name, start) in enumerate(events[:-1]):
        by_name.setdefault(name, []).append((start, events[i + 1][1]))
    for name in ("m", "p"):  # lips closed around the consonant (a frame within it or just before)
        for start, end in by_name[name]:
            window = opening[_frame(start - ANTICIPATION_S) : _frame(end) + 1]
            assert window.min() < 0.15, (name, window)
    start, end = by_name["aI"][0]  # "pie": the jaw drops
    assert opening[_frame(start) : _frame(end) + 1].max() > 0.6
    start, end = by_name["u:"][0]  # "blue": the lips round (negative spread)
    assert spread[_frame(start) : _frame(end) + 1].min() < -0.15
    assert opening[-1] < 0.05  # at rest after speech


def test_lips_lead_the_sound() -> None:
    events = [("_", 0.0), ("A:", 0.2), ("m", 0.6), ("A:", 0.7), ("_", 1.2)]
    opening, _ = mouth_from_phonemes(events, 40)
    closed = int(np.argmin(opening[10:25])) + 10  # the closure of the "m"
    assert closed / 25 < 0.65  # before the m's middle (0.65 s): anticipation
    late, _ = mouth_from_phonemes(events, 40, offset_s=0.4)
    assert int(np.argmin(late[20:35])) + 20 == closed + 10  # an offset shifts it by 0.4 s


def test_unknown_voice_is_an_error() -> None:
    with pytest.raises(TalkmeshError, match="no voice 'xx-nowhere'"):
        speak_phonemes("hello", "xx-nowhere")


def test_synth_drive_phonemes(tmp_path) -> None:
    out = tmp_path / "data"
    assert main(["synth", str(out), "--clips", "3", "--drive", "phonemes", "--no-progress"]) == 0
    dataset = Dataset(out)
    assert "phonemes" in dataset.info.source
    audio, landmarks, valid = dataset.load_clip(dataset.clip_names()[0])[:3]
    assert landmarks.shape[1:] == (478, 3) and len(landmarks) == len(valid)
    lips = landmarks[valid][:, 14, 1] - landmarks[valid][:, 13, 1]  # lower minus upper lip
    assert lips.std() > 0.05  # the mouth moves
    with pytest.raises(SystemExit):
        main(["synth", str(tmp_path / "x"), "--clips", "1", "--drive", "nope"])
