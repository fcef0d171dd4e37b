"""The shipped recordings of people: audio, phone timings, provenance, and faces driven by them."""

import json

import numpy as np
import pytest

from talkmesh_jax.data.recorded import (
    ARPABET_TO_ESPEAK,
    recorded_clip,
    recorded_clips,
    recorded_face,
)
from talkmesh_jax.facemesh import resource_path
from talkmesh_jax.metrics import lip_gap


def test_every_clip_has_audio_phones_and_provenance():
    clips = recorded_clips()
    readme = (resource_path("recorded") / "README.md").read_text()
    assert [c.name for c in clips] == ["sonnet1_librivox", "arctic_a0009", "arctic_a0007"]
    assert sum(len(c.audio) for c in clips) / 16000 > 55  # about a minute of people speaking
    for clip in clips:
        seconds = len(clip.audio) / 16000
        starts = [start for _, start, _ in clip.phones]
        assert starts == sorted(starts) and starts[0] == 0.0
        assert abs(clip.phones[-1][2] - seconds) < 0.1  # timings cover the recording
        assert all(name.rstrip("012") in ARPABET_TO_ESPEAK for name, _, _ in clip.phones)
        assert np.abs(clip.audio).max() > 0.1  # real speech, not silence
        assert f"`{clip.name}.flac`" in readme and clip.licence
    assert "Carnegie Mellon University" in readme  # the ARCTIC notice travels with the clips


def test_faces_follow_the_recorded_phones():
    """Lips close on the bilabials (m, p, b) and open on the open vowels (aa, ae) of the real
    recording's timings: the mouth at each phone's middle."""
    clip = recorded_clips()[0]
    gap = lip_gap(recorded_face(clip)["landmarks"])
    middle = {}
    for name, start, end in clip.phones:
        frame = min(int((start + end) / 2 * 25), len(gap) - 1)
        middle.setdefault(name.rstrip("012"), []).append(gap[frame])
    closed = np.mean(middle["M"] + middle["P"] + middle["B"])
    opened = np.mean(middle["AA"] + middle["AE"])
    assert opened > closed + 0.3  # cm


def test_phones_json_is_what_the_clips_say():
    index = json.loads((resource_path("recorded") / "phones.json").read_text())
    for clip in recorded_clips():
        entry = index[clip.name]
        assert entry["text"] == clip.text and len(entry["phones"]) == len(clip.phones)


def test_a_recording_is_found_by_name():
    assert recorded_clip("arctic_a0009").text.startswith("He turned sharply")
    with pytest.raises(KeyError, match="sonnet1_librivox"):
        recorded_clip("no_such_clip")
